"""Keep full garbage collections short in a process that hosts hundreds of bots.

CPython's full collection walks every tracked object while it holds the GIL, and every bot's guilds, members,
channels and commands are such objects: at 1,000 bots a full collection took 200-440 ms, a stall of every bot at
once, and it comes back whenever a quarter again as many objects have survived (a busy fleet's message caches).
Once the fleet is up, the objects that survived start-up are frozen (`gc.freeze`): collections no longer look at
them, so a full one only walks what came after.

Frozen objects in reference cycles are not reclaimed while frozen, and a closed bot is such a cycle. So after
every REFREEZE_AFTER closed bots (restarts, removed instances) the heap is thawed, collected once and frozen
again: one full collection, paid when bots stop rather than in the middle of everyone's commands. It waits a
moment after the last closure, so a burst of restarts pays once, and is skipped while the daemon shuts down.
"""

from __future__ import annotations

import asyncio
import gc
import time

from supervisor.logs import get_logger

REFREEZE_AFTER = 32  # closed bots whose memory may wait for the next full collection
REFREEZE_QUIET_SECONDS = 2.0  # after the last closure: a burst of restarts is collected once


class HeapFreezer:
    def __init__(self, quiet_seconds: float = REFREEZE_QUIET_SECONDS) -> None:
        self.closed_since = 0
        self.quiet_seconds = quiet_seconds
        self.stopping = False
        self.log = get_logger("supervisor.heap")
        self._refreeze: asyncio.TimerHandle | None = None

    def freeze(self) -> None:
        """Collect what is garbage now, then keep every survivor out of later collections."""
        started = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        self.closed_since = 0
        self.log.info("heap_frozen", objects=gc.get_freeze_count(), freed=freed,
                      ms=round((time.perf_counter() - started) * 1000))

    def bot_closed(self) -> None:
        """Called on the event loop each time an instance's Bot has been closed."""
        self.closed_since += 1
        if self.stopping or self.closed_since < REFREEZE_AFTER or not gc.get_freeze_count():
            return
        if self._refreeze is not None:
            self._refreeze.cancel()
        self._refreeze = asyncio.get_running_loop().call_later(self.quiet_seconds, self._refreeze_now)

    def stop(self) -> None:
        """The daemon is shutting down: every bot is about to close, and nothing is worth collecting."""
        self.stopping = True
        if self._refreeze is not None:
            self._refreeze.cancel()

    def _refreeze_now(self) -> None:
        self._refreeze = None
        if not self.stopping:
            self.freeze()
