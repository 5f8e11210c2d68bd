"""An event loop that handles at most IO_PER_TURN ready sockets per turn.

asyncio's selector loop asks epoll for every ready socket at once and runs the read callback of each in the same
turn, and everything those callbacks make ready in the next: nothing else (a timer, the watchdog, a heartbeat)
runs before the whole turn is done. When a thousand bots' replies come back together (bench/tenk.py's burst of
1,000 `!ping` at 3,000 bots), such turns held the loop for 150-200 ms with no garbage collection in them, although
gateway messages already take turns (gateway_reads.py): what piled up was the REST responses and the
continuations of the commands that awaited them.

epoll can be asked for fewer events than are ready: a level-triggered socket it did not report stays ready and
comes first at the next call, and the ones it did report go to the back of its ready list, so every socket gets
its turn, in order. So the daemon's loop asks for at most IO_PER_TURN. A burst is then worked off a slice per turn,
with the timers and the other bots' I/O in between; nothing is dropped or reordered within a socket. Where epoll
is missing (not Linux), the loop is asyncio's own.
"""

from __future__ import annotations

import asyncio
import select
import selectors
from typing import Any

# Ready sockets handled per loop turn. A read callback and what it wakes cost about 0.1-1 ms of the loop (a
# gateway message, an HTTP response and the command that awaited it). bench/tenk.py, 3,000 bots, a burst of
# 1,000 `!ping`: with 64 the loop was still held 60-115 ms at a time; with 16 the worst was 64 ms, and the burst
# was answered as fast (p95 2.1 s against 2.4 s). An extra epoll_wait per 16 events costs microseconds.
IO_PER_TURN = 16


class _CappedEpoll:
    """An epoll object whose poll() never asks for more than `cap` events (the rest wait for the next call)."""

    def __init__(self, epoll: Any, cap: int) -> None:
        self._epoll = epoll
        self._cap = cap

    def poll(self, timeout: float = -1, maxevents: int = -1) -> list[tuple[int, int]]:
        cap = self._cap if maxevents <= 0 else min(maxevents, self._cap)
        result: list[tuple[int, int]] = self._epoll.poll(timeout, cap)
        return result

    def __getattr__(self, name: str) -> Any:  # register, modify, unregister, close, fileno
        return getattr(self._epoll, name)


if hasattr(select, "epoll"):

    class TurnTakingSelector(selectors.EpollSelector):
        """The stock epoll selector, reporting at most `per_turn` ready sockets per select()."""

        def __init__(self, per_turn: int = IO_PER_TURN) -> None:
            super().__init__()
            self._selector: Any = _CappedEpoll(self._selector, per_turn)


def turn_taking_loop(per_turn: int = IO_PER_TURN) -> asyncio.AbstractEventLoop:
    """A new event loop for the daemon (asyncio.Runner's loop_factory), set as the thread's current loop."""
    if hasattr(select, "epoll"):
        loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop(TurnTakingSelector(per_turn))
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop
