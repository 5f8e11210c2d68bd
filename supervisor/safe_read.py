"""Read an instance's file safely: only a regular file, never more than a limit, never blocking on a pipe.

A named pipe opened for reading blocks until a writer appears, and a device may never end: either would
freeze whatever reads it (on the daemon's loop, every bot). O_NONBLOCK makes the open return at once, and
fstat on the opened file (not the path, which could be swapped in between) decides whether to read at all.
Callers on the event loop run this in a thread (asyncio.to_thread): a slow disk must not stall the bots.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from supervisor.access import cannot_read


class UnreadableFile(Exception):
    """The file is not a regular file, too large, or cannot be read; the message says which."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_regular_file(path: Path, limit: int) -> bytes:
    """The file's bytes. Raises FileNotFoundError when it is missing, UnreadableFile for everything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise
    except PermissionError:
        raise UnreadableFile(cannot_read(path)) from None  # whose file it is, and what to do
    except OSError as error:
        raise UnreadableFile(f"cannot be read: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise UnreadableFile(f"is {info.st_size} bytes; the limit is {limit}")
        chunks, size = [], 0
        while size <= limit:  # the file may grow while we read: never take more than limit + 1 bytes
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(f"grew past the limit of {limit} bytes while being read")
        return b"".join(chunks)
    except OSError as error:
        raise UnreadableFile(f"cannot be read: {error.strerror}") from None
    finally:
        os.close(fd)
