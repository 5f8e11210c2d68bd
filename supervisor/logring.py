"""The last log lines of each instance, kept in memory for the console's instance page.

A structlog processor in the log pipeline's formatter (so it sees exactly the lines that are written, discord.py's
included, at the configured level) appends each line that carries `instance=` to that instance's ring. One sink per
process by design: logging is process-wide; the rings are bounded by LINES per instance.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any

LINES = 200
_SKIP = {"event", "level", "timestamp", "instance", "logger", "_record", "_from_structlog", "exc_info"}


class LogRings:
    """Each instance's last lines, and how many it ever logged (a line's number: what a live page has seen).

    Listeners hear the instance's name with each line, in the thread that logged it (the event loop's, mostly):
    they must be cheap and must not log.
    """

    def __init__(self, lines: int = LINES):
        self.lines = lines
        self.rings: dict[str, deque[str]] = {}
        self.counts: dict[str, int] = {}
        self.listeners: list[Callable[[str], None]] = []

    def add(self, instance: str, line: str) -> None:
        ring = self.rings.get(instance)
        if ring is None:
            ring = self.rings[instance] = deque(maxlen=self.lines)
        ring.append(line)
        self.counts[instance] = self.counts.get(instance, 0) + 1
        for listener in self.listeners:
            listener(instance)

    def tail(self, instance: str) -> list[str]:
        return list(self.rings.get(instance, ()))

    def since(self, instance: str, seen: int) -> tuple[int, list[str]]:
        """(lines logged so far, those after the first `seen` that the ring still has)."""
        count = self.counts.get(instance, 0)
        ring = self.rings.get(instance, ())
        new = min(max(count - seen, 0), len(ring))
        return count, list(ring)[len(ring) - new:] if new else []

    def forget(self, keep: set[str]) -> None:
        for name in [name for name in self.rings if name not in keep]:
            del self.rings[name]
            self.counts.pop(name, None)


RINGS = LogRings()


def ring_processor(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    instance = event_dict.get("instance")
    if isinstance(instance, str):
        fields = " ".join(f"{key}={value!r}" for key, value in event_dict.items() if key not in _SKIP)
        line = f"{event_dict.get('timestamp', '')} {event_dict.get('level', '')} {event_dict.get('event', '')}"
        RINGS.add(instance, f"{line} {fields}"[:2000])
    return event_dict
