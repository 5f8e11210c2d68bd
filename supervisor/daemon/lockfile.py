"""One daemon per control socket: an exclusive lock on a file beside the socket, held for the daemon's life.

The lock (flock) dies with the process, kill -9 included, so a stale file never blocks a new daemon. The file
holds the holder's PID so the refusal can name it; it is never deleted (deleting it would let a third daemon
lock a fresh file while the second still holds the old one).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class DaemonAlreadyRunning(Exception):
    """Another daemon holds the lock."""


class DaemonLock:
    def __init__(self, socket_path: Path):
        self.socket_path = socket_path
        self.path = socket_path.with_name(socket_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"PID {holder}" if holder else "another process"
            raise DaemonAlreadyRunning(
                f"another discord-supervisor daemon ({who}) is already running with the control socket "
                f"{self.socket_path}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
