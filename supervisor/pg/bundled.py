"""The bundled PostgreSQL: one private server for every instance whose DATABASE_URL is unset.

pgserver (a pip package) ships real PostgreSQL binaries. We run them ourselves rather than through its Python
wrapper, which keeps process-wide state and cannot set the server's options. Data lives in
<state-dir>/postgres/data; the server listens on a Unix socket in <state-dir>/postgres/run only (no TCP port),
and that directory is 0700, so only the server's own user (and root) can connect.

Several processes may use the server at once (the daemon; a `backup` the timer starts): each holds a shared lock
while it uses the server, and the last one out stops it. Stopping is "fast": sessions end, data is flushed.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from supervisor.database import DatabaseError

SUPERUSER = "postgres"
SOCKET_NAME = ".s.PGSQL.5432"
SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes with the final NUL
CONF_NAME = "supervisor.conf"
INCLUDE_LINE = f"include_if_exists = '{CONF_NAME}'  # written by discord-supervisor at every start\n"
START_TIMEOUT = 60
STOP_TIMEOUT = 30
_SETTING_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")


class BundledError(DatabaseError):
    """The bundled server cannot be used; the message says why and what to do instead."""


class BundledRefused(BundledError):
    """The bundled server cannot run in this setup (as root with a root-owned state directory): not worth a retry."""


def bin_dir() -> Path:
    """pgserver's PostgreSQL binaries, found without importing pgserver (its import creates lock files)."""
    spec = importlib.util.find_spec("pgserver")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    raise BundledError(
        "the bundled PostgreSQL needs the Python package pgserver (pip install pgserver); "
        "or set DATABASE_URL to use a PostgreSQL server of your own"
    )


@dataclass(frozen=True)
class Account:
    """Who the server runs as: this process's user, or, when we are root (PostgreSQL refuses to run as root),
    the owner of the state directory."""

    uid: int
    gid: int
    name: str

    @property
    def switch(self) -> bool:
        return self.uid != os.geteuid()

    def groups(self) -> set[int]:
        try:
            return {self.gid, *os.getgrouplist(self.name, self.gid)}
        except OSError:
            return {self.gid}


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def server_account(state_dir: Path) -> Account:
    if os.geteuid() != 0:
        return Account(os.geteuid(), os.getegid(), _user_name(os.geteuid()))
    owner = state_dir.stat()
    if owner.st_uid == 0:
        raise BundledRefused(
            f"PostgreSQL refuses to run as root, and the state directory {state_dir} belongs to root. Run "
            "discord-supervisor as an ordinary user, or give the state directory to the user the bundled "
            f"PostgreSQL should run as (chown -R USER {state_dir}), or set DATABASE_URL to use your own server"
        )
    try:
        gid = pwd.getpwuid(owner.st_uid).pw_gid  # the user's own group, not whatever group owns the directory
    except KeyError:
        gid = owner.st_gid
    return Account(owner.st_uid, gid, _user_name(owner.st_uid))


def _unreachable_part(path: Path, account: Account) -> Path | None:
    """The first directory on the way to `path` that `account` may not enter, or None."""
    groups = account.groups()
    for directory in reversed([path, *path.parents]):
        info = directory.stat()
        if info.st_uid == account.uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def _check_reachable(path: Path, account: Account) -> None:
    """Root may create what the server's user cannot enter; say so before initdb fails obscurely."""
    blocked = _unreachable_part(path, account)
    if blocked is not None:
        raise BundledError(
            f"the bundled PostgreSQL runs as user {account.name}, who may not enter {blocked}; "
            "choose a --state-dir that user can reach"
        )


def server_bin_dir(account: Account) -> Path:
    """The binaries as the server's user can run them.

    When root runs the server as another user and the package sits where that user may not go (a virtualenv
    inside a private directory), a root-owned, read-only copy of pgserver's installation is made in the temp
    directory once and reused.
    """
    source = bin_dir()
    if not account.switch or _unreachable_part(source, account) is None:
        return source
    # The binaries find their shared libraries at $ORIGIN/../../../pgserver.libs: keep that layout.
    package = source.parent.parent
    libraries = package.parent / "pgserver.libs"
    digest = hashlib.sha256(os.fsencode(package)).hexdigest()[:12]
    copy = Path(tempfile.gettempdir()) / f"discord-supervisor-pgserver-{digest}"
    if not (copy / ".complete").is_file():
        staging = Path(tempfile.mkdtemp(prefix="discord-supervisor-pgserver-"))
        shutil.copytree(package / "pginstall", staging / "pgserver" / "pginstall", symlinks=True)
        if libraries.is_dir():
            shutil.copytree(libraries, staging / "pgserver.libs", symlinks=True)
        for directory in (staging, staging / "pgserver"):
            os.chmod(directory, 0o755)
        (staging / ".complete").touch()
        try:
            os.rename(staging, copy)
        except OSError:  # another process made the same copy first
            shutil.rmtree(staging, ignore_errors=True)
    return copy / "pgserver" / "pginstall" / "bin"


def _private_dir(path: Path, account: Account) -> None:
    """A 0700 directory owned by the server's user; refuse one that belongs to somebody else."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise BundledError(f"{path} exists and is not a directory")
    if info.st_uid != account.uid:
        if os.geteuid() != 0:
            raise BundledError(f"{path} belongs to another user; remove it or choose another --state-dir")
        os.chown(path, account.uid, account.gid)
    os.chmod(path, 0o700)


def _conf_value(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _lock(path: Path, mode: int, blocking: bool = True) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode if blocking else mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class BundledPostgres:
    """One state directory's private server. `start()` returns its URL; `stop()` lets it go."""

    def __init__(self, state_dir: Path, settings: Mapping[str, str] | None = None, password: str | None = None):
        """settings: extra postgresql.conf settings (max_connections, ...). password: when the cluster is first
        created, require this password of the superuser even on the socket (instead of trusting it)."""
        self.state_dir = state_dir.absolute()
        self.password = password
        self.root = self.state_dir / "postgres"
        self.data = self.root / "data"
        for name in settings or {}:
            if not _SETTING_NAME.match(name):
                raise ValueError(f"not a PostgreSQL setting name: {name!r}")
        self.settings = dict(settings or {})
        self.url: str | None = None
        self.started_here = False  # False: another process (or an earlier daemon) had it running
        self.socket_dir: Path | None = None
        self._users_fd: int | None = None
        self._lock = asyncio.Lock()

    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    @functools.cached_property
    def version(self) -> str:
        """The binaries' version, asked once (it runs `postgres --version`)."""
        return self._binary_version()

    async def start(self) -> str:
        """Create the cluster on first use, start it unless it runs already, and return its URL."""
        async with self._lock:
            if self.url is None:
                try:
                    self.url = await asyncio.to_thread(self._start_blocking)
                except (OSError, subprocess.SubprocessError) as error:
                    raise BundledError(f"the bundled PostgreSQL in {self.root} could not start: {error}") from error
            return self.url

    async def stop(self) -> bool:
        """Stop using the server; stop the server itself when no other process uses it (then True)."""
        async with self._lock:
            if self.url is None:
                return False
            stopped = await asyncio.to_thread(self._stop_blocking)
            self.url = None
            return stopped

    # -- blocking work, run in a thread -------------------------------------------------------------------
    def _start_blocking(self) -> str:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        account = server_account(self.state_dir)
        if account.switch:
            _check_reachable(self.state_dir, account)
        _private_dir(self.root, account)
        socket_dir = self._socket_dir()
        _private_dir(socket_dir, account)
        start_fd = _lock(self.root / ".start.lock", fcntl.LOCK_EX)
        try:
            users_fd = _lock(self.root / ".users.lock", fcntl.LOCK_SH)
            try:
                if not self.initialized:
                    self._initdb(account)
                self._check_data_version()
                self._write_conf(account, socket_dir)
                running = self._pg_ctl(account, "status", check=False).returncode == 0
                if not running:
                    self._start_server(account)
                self.started_here = not running
            except BaseException:
                if users_fd is not None:
                    os.close(users_fd)
                raise
            self._users_fd = users_fd
        finally:
            if start_fd is not None:
                os.close(start_fd)
        self.socket_dir = socket_dir
        login = SUPERUSER if self.password is None else f"{SUPERUSER}:{quote(self.password, safe='')}"
        return f"postgresql://{login}@/{SUPERUSER}?host={quote(str(socket_dir), safe='/')}"

    def _stop_blocking(self) -> bool:
        account = server_account(self.state_dir)
        start_fd = _lock(self.root / ".start.lock", fcntl.LOCK_EX)
        try:
            if self._users_fd is not None:
                os.close(self._users_fd)
                self._users_fd = None
            last = _lock(self.root / ".users.lock", fcntl.LOCK_EX, blocking=False)
            if last is None:
                return False  # another process still uses the server; it stops it when it is done
            try:
                stopped = self._pg_ctl(account, "stop", "-m", "fast", "-t", str(STOP_TIMEOUT), check=False)
                if stopped.returncode != 0 and self._pg_ctl(account, "status", check=False).returncode == 0:
                    self._pg_ctl(account, "stop", "-m", "immediate", check=False)
                return True
            finally:
                os.close(last)
        finally:
            if start_fd is not None:
                os.close(start_fd)

    def _socket_dir(self) -> Path:
        preferred = self.root / "run"
        if len(os.fsencode(preferred / SOCKET_NAME)) <= SUN_PATH_MAX:
            return preferred
        # A deep state directory: socket paths are limited to 107 bytes, so use a short private one in /tmp.
        digest = hashlib.sha256(os.fsencode(self.root)).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"discord-supervisor-pg-{digest}"

    def _run(self, account: Account, name: str, *args: str, timeout: float,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(server_bin_dir(account) / name), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        switch: dict[str, object] = {}
        if account.switch:
            switch = {"user": account.uid, "group": account.gid, "extra_groups": []}
        # Files, not pipes: pg_ctl's server child could keep a pipe open and make the wait hang.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            result = subprocess.run(command, stdout=out, stderr=err, env=env, cwd=self.root, timeout=timeout,
                                    check=False, **switch)  # type: ignore[call-overload]
            out.seek(0)
            err.seek(0)
            completed = subprocess.CompletedProcess(
                command, result.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace")
            )
        if check and completed.returncode != 0:
            raise BundledError(f"{name} failed (exit {completed.returncode}): {completed.stderr.strip()}")
        return completed

    def _pg_ctl(
        self, account: Account, action: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self._run(account, "pg_ctl", action, "-D", str(self.data), "-w", "-s", *args,
                         timeout=max(START_TIMEOUT, STOP_TIMEOUT) + 15, check=check)

    def _initdb(self, account: Account) -> None:
        # Trust on the socket, which only the server's user can open; never trust over TCP.
        auth = ["--auth-local", "trust", "--auth-host", "scram-sha-256"]
        password_file = self.root / ".initdb-password"
        if self.password is not None:
            password_file.write_text(self.password + "\n", encoding="utf-8")
            os.chmod(password_file, 0o600)
            if account.switch:
                os.chown(password_file, account.uid, account.gid)
            auth = ["--auth", "scram-sha-256", "--pwfile", str(password_file)]
        try:
            self._run(account, "initdb", "--pgdata", str(self.data), "--username", SUPERUSER, *auth,
                      "--encoding", "UTF8", "--no-locale", "--no-instructions", timeout=180)
        finally:
            password_file.unlink(missing_ok=True)
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n" + INCLUDE_LINE)

    def _write_conf(self, account: Account, socket_dir: Path) -> None:
        settings = {
            "listen_addresses": "",  # no TCP port at all
            "unix_socket_directories": str(socket_dir),
            "unix_socket_permissions": "0700",
            "logging_collector": "on",  # data/log/postgresql-<weekday>.log: a week of logs, then overwritten
            "log_directory": "log",
            "log_filename": "postgresql-%a.log",
            "log_rotation_age": "1d",
            "log_rotation_size": "0",
            "log_truncate_on_rotation": "on",
            # One advisory lock per running instance (its lease) sits in the lock table, sized from this times
            # max_connections: the default 64 x 100 holds about 6,400, too few for 10,000 bots.
            "max_locks_per_transaction": "256",
            **self.settings,
        }
        text = "# Written by discord-supervisor at every start; change settings with ALTER SYSTEM instead.\n"
        text += "".join(f"{name} = {_conf_value(value)}\n" for name, value in settings.items())
        path = self.data / CONF_NAME
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o600)
        if account.switch:
            os.chown(path, account.uid, account.gid)

    def _start_server(self, account: Account) -> None:
        log_file = self.root / "startup.log"
        result = self._pg_ctl(account, "start", "-l", str(log_file), "-t", str(START_TIMEOUT), check=False)
        if result.returncode != 0:
            details = result.stderr.strip() or _tail(log_file)
            raise BundledError(f"the bundled PostgreSQL in {self.data} did not start: {details}")

    def _binary_version(self) -> str:
        result = subprocess.run([str(bin_dir() / "postgres"), "--version"], capture_output=True, text=True,
                                check=False, timeout=30)
        match = re.search(r"(\d+)(?:\.(\d+))?", result.stdout)
        return match.group(0) if match else "unknown"

    def _check_data_version(self) -> None:
        data_major = (self.data / "PG_VERSION").read_text().strip()
        binary_major = self._binary_version().split(".")[0]
        if data_major != binary_major:
            raise BundledError(
                f"the bundled data in {self.data} was created by PostgreSQL {data_major}, but the installed "
                f"pgserver has PostgreSQL {binary_major}: reinstall the pgserver release that matches, back up "
                "every instance (discord-supervisor backup --all), move the data directory away, and restore"
            )
