"""Log events as the daemon writes them (structlog JSON lines), kept in order so a test can wait for one or
count them: a negative check waits for the event that proves the system got past the point, never sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from supervisor import logs

LogPredicate = Callable[[dict[str, Any]], bool]


class LogBook:
    """Every JSON log line seen, as dicts; written from any thread, read on the test's loop."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.raw: list[str] = []

    def add_line(self, text: str) -> None:
        self.raw.append(text)
        with contextlib.suppress(json.JSONDecodeError):
            entry = json.loads(text)
            if isinstance(entry, dict):
                self.entries.append(entry)

    def mark(self) -> int:
        """A position: pass it as `start` to look only at what comes after now."""
        return len(self.entries)

    def find(self, predicate: LogPredicate, start: int = 0) -> dict[str, Any] | None:
        return next((entry for entry in self.entries[start:] if predicate(entry)), None)

    def count(self, predicate: LogPredicate, start: int = 0) -> int:
        return sum(1 for entry in self.entries[start:] if predicate(entry))

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.raw[-lines:])

    async def wait(self, predicate: LogPredicate, timeout: float = 20.0, start: int = 0, count: int = 1,
                   gone: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """The `count`-th entry matching `predicate` (from `start`); fails when `gone()` says no more can come."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matches = [entry for entry in self.entries[start:] if predicate(entry)]
            if len(matches) >= count:
                return matches[count - 1]
            if gone():
                raise AssertionError("the process exited; last lines:\n" + self.tail())
            if loop.time() > deadline:
                raise AssertionError(f"log event not seen ({len(matches)} of {count}); last lines:\n" + self.tail())
            await asyncio.sleep(0.02)


def event(name: str, **fields: Any) -> LogPredicate:
    """A predicate: the event called `name` carrying these field values."""

    def matches(entry: dict[str, Any]) -> bool:
        return entry.get("event") == name and all(entry.get(key) == value for key, value in fields.items())

    return matches


class _LineSink:
    """A text stream for the log handler: each line goes to the book."""

    def __init__(self, book: LogBook) -> None:
        self.book = book

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.book.add_line(line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def captured_logs(book: LogBook, level: str = "INFO") -> Iterator[LogBook]:
    """The daemon's own log setup (supervisor.logs, JSON) writing into `book`, alongside pytest's handlers.

    In-process code then logs exactly what the daemon would print, so a harness test waits for the same events
    a daemon test reads from stderr.
    """
    root = logging.getLogger()
    kept = root.handlers[:]
    levels = {name: logging.getLogger(name).level for name in ("", "discord", "watchfiles")}
    logs.configure(level, json=True, stream=_LineSink(book))  # type: ignore[arg-type]
    ours = root.handlers[0]
    root.handlers[:] = [*kept, ours]
    try:
        yield book
    finally:
        root.removeHandler(ours)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)
