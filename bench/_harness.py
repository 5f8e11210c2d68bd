"""Shared bench plumbing: instance folders for N bots, the daemon as a subprocess, RSS and CPU, schema cleanup.

Benches import only the installed package and this module (never the test suite), so they run from a plain
install (`pip install '.[bench]'`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from supervisor.emulator import Channel, Emulator, Guild, P, User

CORE_ONLY = "[features]\nmoderation = false\nstocks = false\n"
LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Bot:
    name: str
    token: str
    user: User
    guild: Guild
    channel: Channel
    speaker: User
    prefix: str


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def make_bots(emu: Emulator, root: Path, count: int, database_url: str, run_id: str, *, members: int = 100,
              config_extra: str = CORE_ONLY, prefix: str = "!") -> list[Bot]:
    bots = []
    for index in range(count):
        name = f"b{run_id}{index:04d}"
        token = f"{name}.{secrets.token_hex(8)}"
        user = emu.add_application(token, name)
        owner = emu.create_user(f"{name}-owner")
        guild = emu.create_guild(f"{name} guild", owner)
        channel = emu.create_channel(guild, "general")
        role = emu.create_role(guild, "bot", int(P.ADMINISTRATOR), position=5)
        emu.add_bot_to_guild(guild, user, roles=[role])
        for member_index in range(members - 2):
            emu.add_member(guild, emu.create_user(f"{name}-m{member_index}"))
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "config.toml").write_text(
            f'bot_name = "{name}"\ncommand_prefix = "{prefix}"\ncommand_root = ""\n{config_extra}')
        (folder / "personality.txt").write_text("You are a benchmark bot.")
        (folder / ".env").write_text(f"DISCORD_TOKEN={token}\nDB_SCHEMA=bench_{name}\nDATABASE_URL={database_url}\n")
        bots.append(Bot(name, token, user, guild, channel, owner, prefix))
    return bots


class DaemonProcess:
    """`python -m supervisor run` on a folder of instances, its JSON log lines read as they come."""

    def __init__(self, instances_dir: Path, work_dir: Path, *, api_base: str, gateway_url: str,
                 extra_args: tuple[str, ...] = (), program: tuple[str, ...] = ("-m", "supervisor"),
                 env: dict[str, str] | None = None):
        self.control_socket = work_dir / "control.sock"
        self.work_dir = work_dir
        self.args = [
            "run", "--instances", str(instances_dir), "--api-base-url", api_base, "--gateway-url", gateway_url,
            "--control-socket", str(self.control_socket), "--guild-ready-timeout", "0.1", "--log-format", "json",
            *extra_args,
        ]
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "SUPERVISOR_INSTANCES", "NOTIFY_SOCKET", "WATCHDOG_USEC")}
        self.env.update(env or {})
        self.program = program  # `-m supervisor`, or a wrapper script such as bench/_gc_probe.py
        self.logs: list[dict[str, Any]] = []
        self.process: asyncio.subprocess.Process | None = None
        self._new_line = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> DaemonProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *self.program, *self.args, cwd=self.work_dir, env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process and self.process.stderr
        while line := await self.process.stderr.readline():
            with contextlib.suppress(json.JSONDecodeError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    self.logs.append(entry)
                    self._new_line.set()
        self._new_line.set()

    def save_log(self, path: Path) -> dict[str, int]:
        """Write every JSON log line read so far to `path`; return how many WARNING/ERROR lines each event had."""
        path.write_text("".join(json.dumps(entry) + "\n" for entry in self.logs))
        counts: dict[str, int] = {}
        for entry in self.logs:
            if entry.get("level") in ("warning", "error"):
                counts[str(entry.get("event"))] = counts.get(str(entry.get("event")), 0) + 1
        return counts

    def count(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        return sum(1 for entry in self.logs if predicate(entry))

    async def wait_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for entry in self.logs[seen:]:
                if predicate(entry):
                    return entry
            seen = len(self.logs)
            if self._reader is not None and self._reader.done():
                raise RuntimeError("the daemon exited: " + json.dumps(self.logs[-5:]))
            self._new_line.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("log line not seen: " + json.dumps(self.logs[-5:]))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):  # not wait_for(event.wait()): it can swallow a cancel
                    await self._new_line.wait()

    async def stop(self, timeout: float = 60.0) -> int:
        assert self.process
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            if self._reader:
                await asyncio.gather(self._reader, return_exceptions=True)
        return code


async def start_daemon(emu: Emulator, root: Path, work: Path, *extra: str,
                       program: tuple[str, ...] = ("-m", "supervisor"),
                       env: dict[str, str] | None = None) -> tuple[DaemonProcess, float]:
    """Start the daemon and return it with the seconds until every instance was running.

    Not "daemon_ready": that goes out after at most a minute even if some instances are still starting.
    """
    expected = sum(1 for folder in root.iterdir() if (folder / "config.toml").is_file())
    daemon = DaemonProcess(root, work, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--log-level", "INFO", *extra), program=program, env=env)
    started = time.perf_counter()
    await daemon.start()
    running: set[str] = set()

    def all_running(entry: dict[str, Any]) -> bool:
        if entry.get("event") == "instance_running":
            running.add(str(entry.get("instance")))
        return len(running) >= expected

    await daemon.wait_log(all_running, timeout=1800)
    return daemon, time.perf_counter() - started


async def ping_ms(emu: Emulator, bot: Bot, timeout: float = 10.0) -> float:
    started = time.perf_counter()
    await emu.send_message(bot.channel, bot.speaker, f"{bot.prefix}ping")
    await emu.wait_for_bot_message(channel=bot.channel, bot=bot.user, timeout=timeout)
    return (time.perf_counter() - started) * 1000


async def ping_reply(emu: Emulator, bot: Bot, timeout: float = 10.0) -> tuple[float, float]:
    """A `!ping`'s round trip twice: as the bench's task saw it, and between the emulator's creation of the
    command message and of the reply (message timestamps). The first includes the wait for this task to run again
    on the bench's loop, which the emulator shares: after a burst that loop runs every reply's handler before it
    resumes any waiting task, so every reply seems to come back at the end, in one clump."""
    started = time.perf_counter()
    sent = await emu.send_message(bot.channel, bot.speaker, f"{bot.prefix}ping")
    reply = await emu.wait_for_bot_message(channel=bot.channel, bot=bot.user, timeout=timeout)
    return (time.perf_counter() - started) * 1000, (reply.timestamp - sent.timestamp).total_seconds() * 1000


# The catalogs a schema's DDL writes to. Dropping a schema leaves its rows there dead; with autovacuum off (as on
# the shared bench server) nothing reclaims them, and pg_attribute grew by hundreds of MB across bench runs, past
# shared_buffers, which slowed every later cold start.
BLOATED_CATALOGS = ("pg_attribute", "pg_class", "pg_type", "pg_depend", "pg_index", "pg_constraint", "pg_attrdef",
                    "pg_namespace", "pg_sequence", "pg_statistic", "pg_description", "pg_init_privs")


async def drop_schemas(database_url: str, prefix: str) -> None:
    """Drop the bench's schemas, then VACUUM the catalogs their DDL bloated (see BLOATED_CATALOGS)."""
    connection = await asyncpg.connect(database_url)
    try:
        names = await connection.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", f"{prefix}%")
        for row in names:
            await connection.execute(f'DROP SCHEMA "{row["nspname"]}" CASCADE')
        if names:
            await vacuum_catalogs(connection)
    finally:
        await connection.close()


async def vacuum_catalogs(connection: asyncpg.Connection) -> None:
    """A plain VACUUM (no exclusive lock: other sessions' DDL goes on): the dead rows' space is reused by the next
    schemas instead of growing the files. A role that may not vacuum a catalog gets a warning, not an error."""
    started = time.perf_counter()
    before = await connection.fetchval("SELECT pg_relation_size('pg_attribute')")
    for catalog in BLOATED_CATALOGS:
        await connection.execute(f"VACUUM pg_catalog.{catalog}", timeout=600)
    dead = await connection.fetchval("SELECT n_dead_tup FROM pg_stat_sys_tables WHERE relname = 'pg_attribute'")
    print(f"catalogs vacuumed in {time.perf_counter() - started:.1f} s (pg_attribute {before / 1e6:.0f} MB, "
          f"{dead} dead rows left)", flush=True)




async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def database_url() -> tuple[str, object]:
    """$BENCH_DATABASE_URL, else the local server, else a private one; keep the handle while it is needed."""
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit, None
    if asyncio.run(_answers(LOCAL_URL)):
        return LOCAL_URL, None
    import pgserver  # real PostgreSQL binaries, a dependency of the package

    server = pgserver.get_server(Path(tempfile.mkdtemp(prefix="ds-bench-pg-")), cleanup_mode="stop")
    return server.get_uri(), server


def freeze_heap() -> None:
    """Keep the emulator's fleet of guilds out of this process's garbage collections: a full collection of it
    stalls the emulator, and the stall would show as the daemon's latency."""
    gc.collect()
    gc.freeze()


class LoopLag:
    """The bench's own event loop (the emulator runs on it): its worst lateness and its longest garbage
    collection, so a delay the harness caused is not taken for the daemon's."""

    TICK = 0.01

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self.longest_gc_ms = 0.0
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.longest_gc_ms = max(self.longest_gc_ms, (time.perf_counter() - self._gc_started) * 1000)

    async def _tick(self) -> None:
        while True:
            went = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.worst_ms = max(self.worst_ms, (time.perf_counter() - went - self.TICK) * 1000)

    def __enter__(self) -> LoopLag:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()


async def settle(seconds: float = 1.0) -> None:
    await asyncio.sleep(seconds)


class ChatStandIn:
    """An OpenAI-compatible chat endpoint on loopback that answers "ok" after `delay`, counting requests in flight."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.requests = 0
        self.in_flight = 0
        self.peak = 0
        self._runner: Any = None
        self.url = ""

    async def start(self) -> ChatStandIn:
        from aiohttp import web

        async def complete(request: web.Request) -> web.Response:
            body = await request.json()
            self.requests += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
            return web.json_response({
                "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "bench"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })

        app = web.Application()
        app.router.add_post("/v1/chat/completions", complete)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1/chat/completions"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
