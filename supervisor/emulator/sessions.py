"""Gateway sessions per token over time: how many are live now, the most ever at once, and how long two or
more were live together (two hosts running one bot). Updated on every identify, resume and close, so even an
overlap shorter than any sampling interval is seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class TokenSessions:
    live: int = 0
    most: int = 0
    overlap_seconds: float = 0.0
    overlap_since: float | None = None  # monotonic time two or more became live
    gap_since: float | None = None  # monotonic time the last live session ended
    longest_gap: float = 0.0  # the longest time without any live session, once it had one


class SessionWatch:
    def __init__(self, count: Callable[[str], int]) -> None:
        self._count = count
        self.tokens: dict[str, TokenSessions] = {}

    def changed(self, token: str) -> None:
        entry = self.tokens.setdefault(token, TokenSessions())
        entry.live = self._count(token)
        entry.most = max(entry.most, entry.live)
        now = time.monotonic()
        if entry.live >= 2 and entry.overlap_since is None:
            entry.overlap_since = now
        elif entry.live < 2 and entry.overlap_since is not None:
            entry.overlap_seconds += now - entry.overlap_since
            entry.overlap_since = None
        if entry.live == 0 and entry.gap_since is None and entry.most > 0:
            entry.gap_since = now
        elif entry.live > 0 and entry.gap_since is not None:
            entry.longest_gap = max(entry.longest_gap, now - entry.gap_since)
            entry.gap_since = None

    def most(self, token: str) -> int:
        return self.tokens.get(token, TokenSessions()).most

    def longest_gap(self, token: str) -> float:
        """The longest time `token` had no live session after its first one (a handoff's downtime)."""
        return self.tokens.get(token, TokenSessions()).longest_gap

    def overlap(self, token: str) -> float:
        """Seconds during which two or more sessions of `token` were live (so far)."""
        entry = self.tokens.get(token, TokenSessions())
        ongoing = time.monotonic() - entry.overlap_since if entry.overlap_since is not None else 0.0
        return entry.overlap_seconds + ongoing
