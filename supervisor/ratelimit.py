"""A per-user sliding-window rate limit (the original's: N actions per window, per user)."""

from __future__ import annotations

import time
from collections import deque


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float):
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[int, deque[float]] = {}

    def try_acquire(self, user_id: int) -> float | None:
        """Record a hit and return None, or return the seconds to wait when the user is over the limit."""
        now = time.monotonic()
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return self.window - (now - hits[0])
        hits.append(now)
        return None

    def prune(self) -> None:
        now = time.monotonic()
        for user_id in [u for u, hits in self._hits.items() if not hits or now - hits[-1] >= self.window]:
            del self._hits[user_id]
