"""The last log lines of each instance, kept in memory for the console's instance page.

A structlog processor in the log pipeline's formatter (so it sees exactly the lines that are written, discord.py's
included, at the configured level) appends each line that carries `instance=` to that instance's ring. One sink per
process by design: logging is process-wide; the rings are bounded by LINES per instance.
"""

from __future__ import annotations

from collections import deque
from collections.abc import MutableMapping
from typing import Any

LINES = 200
_SKIP = {"event", "level", "timestamp", "instance", "logger", "_record", "_from_structlog", "exc_info"}


class LogRings:
    def __init__(self, lines: int = LINES):
        self.lines = lines
        self.rings: dict[str, deque[str]] = {}

    def add(self, instance: str, line: str) -> None:
        ring = self.rings.get(instance)
        if ring is None:
            ring = self.rings[instance] = deque(maxlen=self.lines)
        ring.append(line)

    def tail(self, instance: str) -> list[str]:
        return list(self.rings.get(instance, ()))

    def forget(self, keep: set[str]) -> None:
        for name in [name for name in self.rings if name not in keep]:
            del self.rings[name]


RINGS = LogRings()


def ring_processor(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    instance = event_dict.get("instance")
    if isinstance(instance, str):
        fields = " ".join(f"{key}={value!r}" for key, value in event_dict.items() if key not in _SKIP)
        line = f"{event_dict.get('timestamp', '')} {event_dict.get('level', '')} {event_dict.get('event', '')}"
        RINGS.add(instance, f"{line} {fields}"[:2000])
    return event_dict
