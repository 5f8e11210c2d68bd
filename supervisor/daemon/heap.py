"""Keep full garbage collections short in a process that hosts hundreds of bots.

CPython's full collection walks every tracked object while it holds the GIL, and every bot's guilds, members,
channels and commands are such objects: at 1,000 bots a full collection took 200-440 ms, a stall of every bot at
once, and it comes back whenever a quarter again as many objects have survived (a busy fleet's message caches).
Once the fleet is up, the objects that survived start-up are frozen (`gc.freeze`): collections no longer look at
them, so a full one only walks what came after.

Frozen objects in reference cycles are not reclaimed while frozen, and a closed bot is such a cycle. So after
every REFREEZE_AFTER closed bots (restarts, removed instances) the heap is thawed, collected once and frozen
again: one full collection, paid when bots stop rather than in the middle of everyone's commands.
"""

from __future__ import annotations

import gc
import time

from supervisor.logs import get_logger

REFREEZE_AFTER = 32  # closed bots whose memory may wait for the next full collection


class HeapFreezer:
    def __init__(self) -> None:
        self.closed_since = 0
        self.log = get_logger("supervisor.heap")

    def freeze(self) -> None:
        """Collect what is garbage now, then keep every survivor out of later collections."""
        started = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        self.closed_since = 0
        self.log.info("heap frozen", objects=gc.get_freeze_count(), freed=freed,
                      ms=round((time.perf_counter() - started) * 1000))

    def bot_closed(self) -> None:
        self.closed_since += 1
        if self.closed_since >= REFREEZE_AFTER and gc.get_freeze_count():
            self.freeze()
