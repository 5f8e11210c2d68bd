"""The console's live updates: one task turns the fleet's change notices into Server-Sent Events.

It waits on the fleet's change event (a state change reaches open pages at once, nothing polls for it) and, every
REFRESH seconds, also samples each running bot's gateway latency (the instance page's sparkline) and sends the
rows whose latency or guilds moved. Each open page has a bounded queue; one that falls that far behind is dropped
(its browser reconnects and gets the page afresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from supervisor.daemon.status import State
from supervisor.logs import get_logger
from supervisor.web.rows import CHUNK, problems, rows

if TYPE_CHECKING:
    from supervisor.daemon.fleet import Fleet

REFRESH = 5.0
SPARKLINE = 60  # latency samples kept per instance (5 minutes)
QUEUE = 64
KEEPALIVE = 15.0
log = get_logger("supervisor.http")


class Feed:
    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.latency: dict[str, deque[tuple[float, float]]] = {}
        self._queues: set[asyncio.Queue[str | None]] = set()
        self._last: dict[str, dict[str, Any]] = {}
        self._problems: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="console-feed")

    async def stop(self) -> None:
        for queue in self._queues:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)  # each open stream ends: the server can close
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

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
                self._send_rows(await rows(fleet, changed), changed)
                self._send_problems()

    async def _refresh(self) -> None:
        """Sample latencies; with pages open, send them the rows that differ from what they have."""
        if not self._queues:
            await self._sample_latencies()
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

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        if not self._queues:
            return
        message = f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
        for queue in list(self._queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    async def stream(self) -> AsyncIterator[str]:
        """One page's events until it goes away (or the daemon stops)."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE)
        self._queues.add(queue)
        try:
            yield "retry: 1000\n\n"
            # What the page may have missed between its rendering and this subscription: every row, once, fresh
            # (with no page open the feed keeps no rows).
            fresh = await rows(self.fleet)
            self._last = {row["name"]: row for row in fresh}
            every = {"rows": fresh, "removed": []}
            yield f"event: rows\ndata: {await asyncio.to_thread(json.dumps, every)}\n\n"  # 1,000 rows: off the loop
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
        finally:
            self._queues.discard(queue)
