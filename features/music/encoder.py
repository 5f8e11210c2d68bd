"""Encoding ahead, for every player of the process: a few threads keep each source ~0.5 s ahead.

discord.py's player thread of each VoiceClient then only takes a ready packet every 20 ms instead of decoding
and encoding on its own schedule: with 50 players, 50 threads each waking to do a millisecond of work under the
GIL queue behind each other and miss their slot, while a few threads working ahead spread the same work out.
Created once per process (`ctx.shared`); its threads end when it is closed.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol

AHEAD = 25  # packets (0.5 s) kept ready per source
MAX_THREADS = 4


class Refillable(Protocol):
    def top_up(self, ahead: int) -> bool:
        """Encode at most one packet if fewer than `ahead` are ready; True when it did work."""
        ...


class Encoder:
    def __init__(self, threads: int | None = None):
        count = threads or max(1, min(MAX_THREADS, os.cpu_count() or 1))
        self._groups: list[weakref.WeakSet[Refillable]] = [weakref.WeakSet() for _ in range(count)]
        self._wake = threading.Condition()
        self._closed = False
        self._next = 0
        self._threads = [threading.Thread(target=self._run, args=(group,), name=f"music-encoder-{n}", daemon=True)
                         for n, group in enumerate(self._groups)]
        for thread in self._threads:
            thread.start()

    def add(self, source: Refillable) -> None:
        with self._wake:
            self._groups[self._next % len(self._groups)].add(source)
            self._next += 1
            self._wake.notify_all()

    def poke(self) -> None:
        """A source fell below its mark: look again now instead of at the next tick."""
        with self._wake:
            self._wake.notify_all()

    def _run(self, group: weakref.WeakSet[Refillable]) -> None:
        while not self._closed:
            busy = False
            for source in list(group):
                busy = source.top_up(AHEAD) or busy
            if not busy:
                with self._wake:
                    if not self._closed:  # no source at all: sleep until one is added (no idle polling)
                        self._wake.wait(0.1 if group else None)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(2)
