"""Keep every garbage collection short in a process that hosts thousands of bots.

CPython's full collection walks every tracked object while it holds the GIL, and every bot's guilds, members,
channels and commands are such objects: at 1,000-2,000 bots a full collection took 300-1,300 ms, a stall of every
bot at once. `gc.freeze()` moves every object alive now out of all collections; a later `gc.collect()` walks only
what was allocated since. So the daemon never lets CPython start a full collection on its own (the third
threshold is out of reach) and instead freezes what survives each collection of the middle generation: an object
that lived through two collections is part of a bot's lasting state, and no later collection walks it again.

The young collections themselves come on a clock as well as on allocations. CPython starts one when the count of
new container objects, less the freed ones, passes 700, and it counts a freed object whatever its age. An idle bot
allocates the timer of its next heartbeat and the timeout of its next gateway read and frees those of the last
round, frozen long ago: the count stands still while thousands of new objects pile up, and the collection that
finally comes walks all of them (30,000-80,000 objects and 30-130 ms at 3,000 idle bots, `bench/tenk.py`). So
every YOUNG_TICK_SECONDS the daemon collects both young generations, and the survivors are frozen: what one
collection walks is bounded by a second's allocations at idle and by CPython's thresholds in a burst (700 net
allocations, ten times over for the middle generation), never by the number of bots: the heap grows in frozen
layers. (Collecting only the youngest generation on the clock and the middle one every tenth tick still walked
ten seconds of survivors, 18,000-21,000 objects and about 20 ms at 3,000 bots.)

It also freezes after each wave of START_WAVE instances that reached running and once the last instance of a
start is running (not when daemon_ready goes out: that has a one-minute cap, and at 2,000 bots it went out with
64 still starting).

What frozen objects cannot do is come back when they end up in a reference cycle: a closed bot is such a cycle,
and so is what an object that lived across a freeze leaves behind. So after enough closed bots (REFREEZE_AFTER or
REFREEZE_SHARE of the hosted bots, whichever is more) the heap is thawed, collected in full and frozen again: one
long collection, paid when bots stop rather than in the middle of everyone's commands. It waits a moment after the
last closure, so a burst of restarts pays once, and is skipped while the daemon shuts down.

The hot paths (a command and its reply, a gateway event) make no cyclic garbage: `bench/gc_trace.py --saveall`
keeps what collections find and names it by type.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

from supervisor.logs import get_logger

REFREEZE_AFTER = 32  # closed bots whose memory may wait for the next full collection...
REFREEZE_SHARE = 0.05  # ...or this share of the hosted bots, whichever is more
REFREEZE_QUIET_SECONDS = 2.0  # after the last closure: a burst of restarts is collected once
START_WAVE = 200  # instances that reached running since the last freeze: freeze again
YOUNG_TICK_SECONDS = 1.0  # the youngest generation is collected at least this often
NEVER = 1 << 30  # the third threshold: CPython never starts a full collection itself
START_SETTLE_SECONDS = 1.0  # after an instance reached running: are any still starting?


class HeapFreezer:
    def __init__(self, quiet_seconds: float = REFREEZE_QUIET_SECONDS,
                 hosted: Callable[[], int] = lambda: 0, starting: Callable[[], bool] = lambda: False,
                 young_tick_seconds: float = YOUNG_TICK_SECONDS) -> None:
        self.closed_since = 0
        self.started_since = 0  # instances that reached running since the last freeze
        self._start_pending = False  # an instance reached running, and no start freeze has followed yet
        self.quiet_seconds = quiet_seconds
        self.hosted = hosted  # how many bots the daemon hosts now
        self.starting = starting  # whether any instance is still starting
        self.stopping = False
        self.log = get_logger("supervisor.heap")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refreeze: asyncio.TimerHandle | None = None
        self._settle: asyncio.TimerHandle | None = None
        self.young_tick_seconds = young_tick_seconds
        self._young_tick: asyncio.TimerHandle | None = None
        self.layers = 0  # freezes of what survived a middle-generation collection
        self._thresholds: tuple[int, int, int] | None = None
        # Objects frozen as of the last count (the first freeze, each refreeze): see freeze().
        self.frozen_objects: int | None = None

    # -- the collector's own pace ------------------------------------------------------------------
    def start(self) -> None:
        """On the event loop: take over full collections from CPython (freezes instead)."""
        self._loop = asyncio.get_running_loop()
        self._thresholds = gc.get_threshold()
        first, second, _third = self._thresholds
        gc.set_threshold(first, second, NEVER)
        gc.callbacks.append(self._on_gc)
        self.freeze("imports")  # before any bot: the modules' objects are never walked again
        self._young_tick = self._loop.call_later(self.young_tick_seconds, self._collect_young)

    def close(self) -> None:
        self.stop()
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _collect_young(self) -> None:
        """The clock's collection of both young generations (whose survivors _on_gc then freezes)."""
        assert self._loop is not None
        self._young_tick = self._loop.call_later(self.young_tick_seconds, self._collect_young)
        gc.collect(1)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Any thread (a collection runs where an allocation crossed the threshold): after a middle-generation
        collection every young object is in the old generation, alive for two collections; freeze it there, so
        no collection walks it again. Freezing moves three lists; it collects nothing, so it may run here."""
        if phase == "stop" and info["generation"] == 1:
            gc.freeze()
            self.layers += 1

    # -- freezing ------------------------------------------------------------------------------------
    def freeze(self, reason: str = "start") -> None:
        """Collect what came since the last freeze (the frozen heap is not walked), then freeze the survivors."""
        started = time.perf_counter()
        freed = gc.collect()
        gc.freeze()
        # Counted at the first freeze (before any bot, a small heap) and at each refreeze (a walk of the whole heap
        # anyway), not here: gc.get_freeze_count() walks every frozen object (66 ms at 2 million), and listing the
        # layer with gc.get_objects() hands out references to objects another thread is still building (a tuple
        # being filled from a map() then fails to resize: SystemError in yt-dlp's thread, seen in CI).
        if self.frozen_objects is None:
            self.frozen_objects = gc.get_freeze_count()
        self.started_since = 0
        if reason in ("started", "start_wave"):
            self._start_pending = False
        ms = round((time.perf_counter() - started) * 1000)
        self.log.info("heap_frozen", reason=reason, objects=self.frozen_objects, freed=freed, ms=ms)

    def refreeze(self) -> None:
        """Thaw everything, collect in full (closed bots' cycles) and freeze again: the one long collection."""
        started = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        self.frozen_objects = gc.get_freeze_count()  # a walk of the whole heap, as the collection just was
        self.closed_since = 0
        self.log.info("heap_frozen", reason="closed_bots", objects=self.frozen_objects, freed=freed,
                      ms=round((time.perf_counter() - started) * 1000))

    # -- instances -----------------------------------------------------------------------------------
    def instance_running(self) -> None:
        """Called on the event loop each time an instance reached running: after a wave of them, and once
        none is starting any more, freeze what their start left."""
        self.started_since += 1
        self._start_pending = True
        if self.stopping:
            return
        if self.started_since >= START_WAVE:
            self.freeze("start_wave")
            return
        if self._settle is None:
            self._settle = asyncio.get_running_loop().call_later(START_SETTLE_SECONDS, self._start_settled)

    def _start_settled(self) -> None:
        self._settle = None
        # Not started_since: a freeze for allocations in between resets that count, and the start still settles.
        if self.stopping or not self._start_pending:
            return
        if self.starting():
            self._settle = asyncio.get_running_loop().call_later(START_SETTLE_SECONDS, self._start_settled)
            return
        self.freeze("started")

    def bot_closed(self) -> None:
        """Called on the event loop each time an instance's Bot has been closed."""
        self.closed_since += 1
        if self.stopping or self.closed_since < max(REFREEZE_AFTER, REFREEZE_SHARE * self.hosted()):
            return
        if not self.frozen_objects:
            return
        if self._refreeze is not None:
            self._refreeze.cancel()
        self._refreeze = asyncio.get_running_loop().call_later(self.quiet_seconds, self._refreeze_now)

    def stop(self) -> None:
        """The daemon is shutting down: every bot is about to close, and nothing is worth collecting."""
        self.stopping = True
        for handle in (self._refreeze, self._settle, self._young_tick):
            if handle is not None:
                handle.cancel()

    def _refreeze_now(self) -> None:
        self._refreeze = None
        if not self.stopping:
            self.refreeze()
