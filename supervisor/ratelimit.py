"""A per-user sliding-window rate limit (the original's: N actions per window, per user)."""

from __future__ import annotations

import time
from collections import deque

PRUNE_EVERY_SECONDS = 300.0  # drop idle users' entries now and then, so memory follows active users only


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float):
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[int, deque[float]] = {}
        self._pruned_at = time.monotonic()

    def try_acquire(self, user_id: int) -> float | None:
        """Record a hit and return None, or return the seconds to wait when the user is over the limit."""
        now = time.monotonic()
        if now - self._pruned_at >= max(PRUNE_EVERY_SECONDS, self.window):
            self.prune(now)
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return self.window - (now - hits[0])
        hits.append(now)
        return None

    def prune(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._pruned_at = now
        for user_id in [u for u, hits in self._hits.items() if not hits or now - hits[-1] >= self.window]:
            del self._hits[user_id]
