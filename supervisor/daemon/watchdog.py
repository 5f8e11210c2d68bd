"""Event-loop watchdog: one bot's blocking call stalls every bot in the process, so name the culprit.

A heartbeat task on the loop sleeps a short tick and measures how late it wakes. A thread watches the heartbeat:
while the loop is held it notes which task holds it (and, through runtime.activity, which instance and which
command or feature task that is). When the loop is free again the stall is logged once, with its length, and
counted per instance for `status --json`. A stall that goes on and on is logged from the thread once as well,
since the loop may never get to it. Time spent in garbage collection during a stall (on any thread: it holds the
GIL) is reported beside it, `gc_ms`: a full collection walks every object of every bot, so it is no bot's fault.

A suspended process (SIGSTOP, a VM pause, a machine too loaded to schedule us) looks like a stall to the heartbeat,
but it is nobody's: the watching thread's own short sleep overshoots too, and the process used almost no CPU
meanwhile (a callback that holds the loop, or the GIL, burns CPU or at least lets the thread run). That time is
logged once as `process_suspended` and taken out of the stall. An instance is blamed only for what remains once
suspension and garbage collection are taken out.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections import Counter, defaultdict

from supervisor.logs import get_logger
from supervisor.runtime.activity import activity_of

STALL_THRESHOLD = 0.25  # seconds the loop may be held before it counts as a stall
TICK = 0.1  # the heartbeat; the thread looks twice as often
STILL_STALLED = 10.0  # a stall this long is reported while it lasts
NOTABLE_SUSPENSION = 1.0  # a suspension this long (SIGSTOP, a VM pause) is a warning; a shorter one (a machine too
# loaded to run us for a moment) is info: nothing in this process can be done about either
# Upper bounds (seconds) of the loop-lag histogram on /metrics: how late each heartbeat woke.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LoopWatchdog:
    def __init__(self, threshold: float = STALL_THRESHOLD):
        self.threshold = threshold
        self.stalls: Counter[str] = Counter()  # instance name -> stalls it caused; "" for none known
        self.log = get_logger("supervisor.watchdog")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._beat = time.monotonic()  # when the heartbeat last went to sleep
        self._suspect: tuple[str | None, str | None] | None = None  # who held the loop in the current stall
        self._said_still = False
        self._gc_started = 0.0
        self._gc_seconds = 0.0  # time spent collecting since the heartbeat last woke
        self._suspended = 0.0  # time the whole process did not run, since the heartbeat last woke
        self._seen = time.monotonic()  # when the watching thread last ran
        self._seen_cpu = time.process_time()  # the process's CPU time then
        # For /metrics (plain numbers, read at scrape time): the heartbeat's lateness as a histogram, the time
        # spent collecting garbage, and per instance the loop time its tasks held (sampled by the thread: each
        # look that finds an instance's task running counts one look's worth of time for it).
        self.lag_counts = [0] * (len(LAG_BUCKETS) + 1)  # the last: over every bound
        self.lag_sum = 0.0
        self.gc_total = 0.0
        self.gc_collections = 0
        self.busy: defaultdict[str, float] = defaultdict(float)  # instance name -> seconds of loop time (sampled)
        self.stalled_seconds: defaultdict[str, float] = defaultdict(float)  # instance -> seconds of stalls it caused
        self._last_look = time.monotonic()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        gc.callbacks.append(self._on_gc)
        self._beat = self._seen = time.monotonic()
        self._seen_cpu = time.process_time()
        self._heartbeat_task = self._loop.create_task(self._heartbeat(), name="loop-watchdog")
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            await asyncio.gather(self._heartbeat_task, return_exceptions=True)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 1.0)

    def count_for(self, instance: str) -> int:
        return self.stalls.get(instance, 0)

    async def _heartbeat(self) -> None:
        while True:
            went_to_sleep = time.monotonic()
            self._beat = went_to_sleep
            await asyncio.sleep(TICK)
            late = time.monotonic() - went_to_sleep - TICK
            self._beat = time.monotonic()  # first: the thread must not take this task for the culprit
            suspect, self._suspect, self._said_still = self._suspect, None, False
            collecting, self._gc_seconds = self._gc_seconds, 0.0
            self._record_lag(max(late, 0.0))
            suspended = self._take_suspension()
            if late > self.threshold:
                self._report(late, suspect, collecting, suspended)

    def _take_suspension(self) -> float:
        """Suspension since the last beat: what the thread measured, plus a gap it has not woken up to yet."""
        suspended, self._suspended = self._suspended, 0.0
        return suspended + self._notice_suspension()

    def _notice_suspension(self) -> float:
        """Seconds the watching thread could not run while the process used (almost) no CPU; claims them."""
        now, cpu = time.monotonic(), time.process_time()
        gap = now - self._seen - TICK / 2
        used = cpu - self._seen_cpu
        self._seen, self._seen_cpu = now, cpu
        return gap if gap > self.threshold and used < gap / 2 else 0.0

    def _report(self, late: float, suspect: tuple[str | None, str | None] | None, collecting: float,
                suspended: float) -> None:
        if suspended > 0:
            say = self.log.warning if suspended >= NOTABLE_SUSPENSION else self.log.info
            say("process_suspended", suspended_ms=round(suspended * 1000), stalled_ms=round(late * 1000))
        held = late - suspended - collecting  # what the code running on the loop is answerable for
        if held <= self.threshold and suspended >= collecting:
            return  # the process did not run: no stall of anyone's
        instance, activity = suspect or (None, None)
        if held <= self.threshold:  # the collector, not the task it happened to interrupt
            instance, activity = None, "garbage collection"
        self.stalls[instance or ""] += 1
        self.stalled_seconds[instance or ""] += late
        self.log.warning("event_loop_stalled", instance=instance, activity=activity,
                         stalled_ms=round(late * 1000), gc_ms=round(collecting * 1000),
                         suspended_ms=round(suspended * 1000))

    def _record_lag(self, late: float) -> None:
        index = 0
        while index < len(LAG_BUCKETS) and late > LAG_BUCKETS[index]:
            index += 1
        self.lag_counts[index] += 1
        self.lag_sum += late

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        """A collection holds the GIL throughout, so one started on another thread (discord.py's heartbeats, a
        file read) holds the loop just the same. Collections never overlap: one start, one stop."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            took = time.perf_counter() - self._gc_started
            self._gc_seconds += took
            self.gc_total += took
            self.gc_collections += 1

    def _sample(self) -> None:
        """Which instance's task runs right now: it is charged the time since the last look."""
        now = time.monotonic()
        since, self._last_look = now - self._last_look, now
        with contextlib.suppress(RuntimeError):
            instance, _ = activity_of(asyncio.current_task(self._loop))
            if instance is not None:
                self.busy[instance] += since

    def _watch(self) -> None:
        while not self._stop.wait(TICK / 2):
            self._suspended += self._notice_suspension()
            self._sample()
            held = time.monotonic() - self._beat - TICK - self._suspended
            if held <= self.threshold / 2:
                continue
            if self._suspect is None:
                with contextlib.suppress(RuntimeError):
                    task = asyncio.current_task(self._loop)
                    if task is not self._heartbeat_task:
                        self._suspect = activity_of(task)
            if held > STILL_STALLED and not self._said_still:
                self._said_still = True
                instance, activity = self._suspect or (None, None)
                self.log.error("event_loop_still_stalled", instance=instance, activity=activity,
                               stalled_ms=round(held * 1000))
