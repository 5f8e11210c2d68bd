"""The console's live updates: one task turns the fleet's change notices into Server-Sent Events.

It waits on the fleet's change event (a state change reaches open pages at once, nothing polls for it) and, every
REFRESH seconds, also samples each running bot's gateway latency (the instance page's sparkline) and sends the
rows whose latency or guilds moved. Each open page has a bounded queue; one that falls that far behind is dropped
(its browser reconnects and gets the page afresh).

An instance page subscribes to its instance alone (`watch`): the same task sends it the instance's state, history,
errors, warnings and sparkline when they change, and its new log lines (numbered, so a page never shows one twice).
The log rings tell the feed of each line of a watched instance; lines are sent in batches, LOG_BATCH seconds apart
at most. A push costs the watched instances that changed, never a pass over the fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from supervisor.daemon.status import State
from supervisor.logring import RINGS
from supervisor.logs import get_logger
from supervisor.web.rows import CHUNK, detail, problems, rows

if TYPE_CHECKING:
    from supervisor.daemon.fleet import Fleet

REFRESH = 5.0
SPARKLINE = 60  # latency samples kept per instance (5 minutes)
QUEUE = 64
KEEPALIVE = 15.0
LOG_BATCH = 0.2  # a watched instance's new log lines reach its pages within this
log = get_logger("supervisor.http")
Queue = asyncio.Queue[str | None]


class Feed:
    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.latency: dict[str, deque[tuple[float, float]]] = {}
        self._queues: set[Queue] = set()
        self._last: dict[str, dict[str, Any]] = {}
        self._problems: list[str] = []
        self._task: asyncio.Task[None] | None = None
        # instance pages: their queues by instance, what they were last sent, and who logged since
        self._watchers: dict[str, set[Queue]] = {}
        self._shown: dict[str, dict[str, Any] | None] = {}
        self._upto: dict[str, int] = {}  # log lines logged when last sent
        self._logged: set[str] = set()
        self._batching = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        RINGS.listeners.append(self._line)
        self._task = self._loop.create_task(self._run(), name="console-feed")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            RINGS.listeners.remove(self._line)
        for queue in [*self._queues, *(q for queues in self._watchers.values() for q in queues)]:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)  # each open stream ends: the server can close
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def latencies(self, name: str) -> list[float]:
        return [ms for _t, ms in self.latency.get(name, ())]

    def _line(self, name: str) -> None:
        """A log line of `name` (in the thread that logged it): a page watching it will hear of it."""
        if name not in self._watchers or self._loop is None:
            return
        if threading.get_ident() == self._thread:
            self._heard(name)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._heard, name)

    def _heard(self, name: str) -> None:
        self._logged.add(name)
        if not self._batching and self._loop is not None:
            self._batching = True
            self._loop.call_later(LOG_BATCH, self._wake)

    def _wake(self) -> None:
        self._batching = False
        self.fleet.change_event.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except Exception as error:  # the pages go stale, never the daemon: log it and follow again
                log.error("console_feed_failed", error=repr(error), exc_info=error)
                await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        fleet = self.fleet
        next_refresh = 0.0
        while True:
            now = time.monotonic()
            if now >= next_refresh:
                next_refresh = now + REFRESH
                await self._refresh()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(next_refresh - now):
                    await fleet.change_event.wait()
            if fleet.change_event.is_set():
                fleet.change_event.clear()
                changed, fleet.changed = fleet.changed, set()
                logged, self._logged = self._logged, set()
                if changed:
                    self._send_rows(await rows(fleet, changed), changed)
                    self._send_problems()
                await self._send_details((changed | logged) & self._watchers.keys())

    async def _refresh(self) -> None:
        """Sample latencies; with pages open, send them the rows that differ from what they have."""
        if not self._queues:
            await self._sample_latencies()
            await self._send_details(set(self._watchers))
            return
        current = await rows(self.fleet)
        now = time.time()
        for row in current:
            if row["latency_ms"] is not None:
                self._sample(row["name"], now, float(row["latency_ms"]))
        names = {row["name"] for row in current}
        for gone in [name for name in self.latency if name not in names]:
            del self.latency[gone]
        self._send_rows([row for row in current if self._last.get(row["name"]) != row],
                        set(self._last) - names)
        self._send_problems()
        await self._send_details(set(self._watchers))

    async def _sample_latencies(self) -> None:
        """No page open: only the sparklines' samples, straight from the running bots."""
        now = time.time()
        for index, (name, runner) in enumerate(list(self.fleet.runners.items())):
            if index and index % CHUNK == 0:
                await asyncio.sleep(0)
            bot = runner.ctx.bot if runner.ctx is not None else None
            if bot is not None and runner.status.state is State.RUNNING and math.isfinite(bot.latency):
                self._sample(name, now, round(bot.latency * 1000, 1))
        for gone in [name for name in self.latency if name not in self.fleet.runners]:
            del self.latency[gone]

    def _sample(self, name: str, now: float, latency_ms: float) -> None:
        samples = self.latency.get(name)
        if samples is None:
            samples = self.latency[name] = deque(maxlen=SPARKLINE)
        samples.append((now, latency_ms))

    def _send_rows(self, changed: list[dict[str, Any]], asked: set[str]) -> None:
        present = {row["name"] for row in changed}
        removed = sorted(name for name in asked if name not in present and name in self._last)
        for row in changed:
            self._last[row["name"]] = row
        for name in removed:
            self._last.pop(name, None)
        if changed or removed:
            self._publish("rows", {"rows": changed, "removed": removed})

    def _send_problems(self) -> None:
        found = problems(self.fleet)
        if found != self._problems:
            self._problems = found
            self._publish("problems", {"problems": found})

    def _publish(self, kind: str, data: dict[str, Any], queues: set[Queue] | None = None) -> None:
        queues = self._queues if queues is None else queues
        if not queues:
            return
        message = f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
        for queue in list(queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                queues.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    async def _instance(self, name: str, seen: int) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the instance page's data, its log lines after the first `seen`: all the ring has if it started over)."""
        shown = await detail(self.fleet, name, self.latencies(name))
        count, lines = RINGS.since(name, seen)
        if count < seen:
            count, lines, seen = count, RINGS.tail(name), 0
        return shown, {"upto": count, "lines": lines, "reset": seen == 0}

    async def _send_details(self, names: set[str]) -> None:
        """To each page watching one of `names`: what changed on it (nothing when nothing did)."""
        for name in sorted(names):
            queues = self._watchers.get(name)
            if not queues:
                continue
            shown, logs = await self._instance(name, self._upto.get(name, 0))
            data: dict[str, Any] = {}
            if shown != self._shown.get(name):
                data = {"gone": True} if shown is None else dict(shown)
                self._shown[name] = shown
            if logs["lines"] or (logs["reset"] and logs["upto"] != self._upto.get(name, 0)):
                data["logs"] = logs
            self._upto[name] = logs["upto"]
            if data:
                self._publish("instance", data, queues)

    async def watch(self, name: str) -> AsyncIterator[str]:
        """One instance page's events: all of it at once (what it may have missed since its rendering), then what
        changes, until it goes away (or the daemon stops)."""
        queue: Queue = asyncio.Queue(QUEUE)
        # Read, then subscribe, with no await between: every push this page gets is newer than this first send.
        shown, logs = await self._instance(name, 0)
        if name not in self._watchers:  # the first page on it; the others' state stays as it was sent to them
            self._shown[name], self._upto[name] = shown, logs["upto"]
        self._watchers.setdefault(name, set()).add(queue)
        try:
            yield "retry: 1000\n\n"
            data = {"gone": True} if shown is None else dict(shown)
            yield f"event: instance\ndata: {json.dumps(data | {'logs': logs}, separators=(',', ':'))}\n\n"
            async for message in self._messages(queue):
                yield message
        finally:
            queues = self._watchers.get(name)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._watchers[name]
                    self._shown.pop(name, None)
                    self._upto.pop(name, None)

    @staticmethod
    async def _messages(queue: Queue) -> AsyncIterator[str]:
        """A queue's messages, a keepalive comment when it is quiet, until its None."""
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE):
                    message = await queue.get()
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if message is None:
                return
            yield message

    async def stream(self) -> AsyncIterator[str]:
        """One page's events until it goes away (or the daemon stops)."""
        queue: Queue = asyncio.Queue(QUEUE)
        self._queues.add(queue)
        try:
            yield "retry: 1000\n\n"
            # What the page may have missed between its rendering and this subscription: every row, once, fresh
            # (with no page open the feed keeps no rows).
            fresh = await rows(self.fleet)
            self._last = {row["name"]: row for row in fresh}
            every = {"rows": fresh, "removed": []}
            yield f"event: rows\ndata: {await asyncio.to_thread(json.dumps, every)}\n\n"  # 1,000 rows: off the loop
            async for message in self._messages(queue):
                yield message
        finally:
            self._queues.discard(queue)
