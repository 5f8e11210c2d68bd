"""The lease sessions' connections and heartbeats on a thread of their own, off the bots' event loop.

A daemon whose loop is saturated (a flood of messages, a long garbage collection, a bot's blocking call) would
otherwise send its lease heartbeat late or read the answer late, and fence itself (cut off every bot it runs)
while its database session is in fact alive. Here every lease connection lives on one thread with its own event
loop: the heartbeat is sent and its answer read there, on time, whatever the bots' loop is doing. The bots' loop
asks for queries through `LeaseConnection` (awaiting the thread's answer) and reads the confirmation time, a
float the thread writes.

A frozen process (SIGSTOP) freezes this thread too, so the fencing argument of docs/standby.md still holds: no
heartbeat means no confirmation, and the bots' gate refuses every send FENCE_AFTER after the last one.

Nothing from the thread raises into the bots' loop: what it tells that loop (a lost session, a NOTIFY) goes by
call_soon_threadsafe, wrapped so that an exception is logged, not raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import asyncpg

from supervisor.hosts import timing
from supervisor.logs import get_logger

T = TypeVar("T")
STOP_SECONDS = 5.0  # the thread's loop gets this long to close its connections when the daemon stops

log = get_logger("supervisor.leases")


class LeaseThread:
    """One thread, one event loop: every lease connection of this daemon (one per database)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._on_loop_error)
        # The creator's context (structlog's bound fields: `worker`) for the thread's own log lines.
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,),
                                        name="lease-sessions", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    @staticmethod
    def _on_loop_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        log.error("lease_thread_error", message=context.get("message"), error=repr(error) if error else None)

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the thread's loop and await its result from the calling loop; cancelling the caller
        cancels it there."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def call(self, callback: Callable[[], object]) -> None:
        """`callback` on the thread's loop, soon (a no-op once the thread has stopped)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing is left to act on
            self.loop.call_soon_threadsafe(callback)

    def stop(self) -> None:
        """Close what is left open (the sessions have closed their connections by now) and end the thread."""
        if not self._thread.is_alive():
            return
        self.call(self.loop.stop)
        self._thread.join(STOP_SECONDS)


def to_loop(loop: asyncio.AbstractEventLoop, context: contextvars.Context, callback: Callable[..., object],
            *args: Any) -> None:
    """Call `callback(*args)` on `loop` (the bots' loop) in `context` from the thread: never raises here, and an
    exception in the callback is logged there rather than raised into that loop."""

    def guarded() -> None:
        try:
            callback(*args)
        except Exception as error:
            log.error("lease_callback_failed", callback=getattr(callback, "__name__", repr(callback)),
                      error=repr(error), exc_info=error)

    with contextlib.suppress(RuntimeError):  # the bots' loop is closed: the daemon is gone
        loop.call_soon_threadsafe(guarded, context=context)


class LeaseConnection:
    """A lease session's asyncpg connection, which lives on the lease thread, as the bots' loop sees it: the same
    query methods (awaited there, run here), and the heartbeat, which runs on the thread alone.

    `confirmed_at` is the monotonic time the last confirmed heartbeat was sent: the loops' clocks are both
    time.monotonic(), so the bots' loop compares it with its own `loop.time()`."""

    def __init__(self, thread: LeaseThread, connection: asyncpg.Connection, owner: asyncio.AbstractEventLoop):
        self.thread = thread
        self.raw = connection
        self.owner = owner  # the bots' loop
        self.context = contextvars.copy_context()  # what its callbacks there run in (the log's bound fields)
        self.confirmed_at = -math.inf
        self.last_sent = -math.inf  # the same, kept once the session is lost (a lone holder's bound counts from it)
        self.outcome = ""  # the last heartbeat's command tag ("UPDATE 1"; "UPDATE 0": our row was swept)
        self.lost: str | None = None  # why the heartbeat gave the session up
        self._lock: asyncio.Lock | None = None  # one query at a time on the connection (created on the thread)
        self._beater: asyncio.Task[None] | None = None
        self._fence_timer: asyncio.TimerHandle | None = None

    @classmethod
    async def open(cls, thread: LeaseThread, url: str, timeout: float,
                   settings: dict[str, str]) -> LeaseConnection:
        async def connect() -> asyncpg.Connection:
            return await asyncpg.connect(url, timeout=timeout, server_settings=settings)

        connection = await thread.run(connect())
        return cls(thread, connection, asyncio.get_running_loop())

    # -- queries, asked by the bots' loop ----------------------------------------------------------------
    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _query(self, method: str, query: str, args: tuple[Any, ...], timeout: float | None) -> Any:
        async def on_thread() -> Any:
            async with self._locked():
                return await getattr(self.raw, method)(query, *args, timeout=timeout)

        return await self.thread.run(on_thread())

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        return str(await self._query("execute", query, args, timeout))

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[asyncpg.Record]:
        return list(await self._query("fetch", query, args, timeout))

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._query("fetchrow", query, args, timeout)
        return row

    async def fetchval(self, query: str, *args: Any, timeout: float | None = None) -> Any:
        return await self._query("fetchval", query, args, timeout)

    async def in_transaction(self, statements: list[str]) -> None:
        """Every statement in one transaction, with no heartbeat between them."""
        async def on_thread() -> None:
            async with self._locked(), self.raw.transaction():
                for statement in statements:
                    await self.raw.execute(statement)

        await self.thread.run(on_thread())

    async def add_listener(self, channel: str, callback: Callable[..., object]) -> None:
        """LISTEN on `channel`; each notification calls `callback` on the bots' loop."""
        def relay(*args: Any) -> None:
            to_loop(self.owner, self.context, callback, *args)

        async def on_thread() -> None:
            await self.raw.add_listener(channel, relay)

        await self.thread.run(on_thread())

    def is_closed(self) -> bool:
        return bool(self.raw.is_closed())

    @property
    def usable(self) -> bool:
        """Open, and its heartbeat has not given it up."""
        return self.lost is None and not self.is_closed()

    def terminate(self) -> None:
        """Drop the session now (its locks go with it): from the bots' loop, it happens on the thread at once."""
        self.thread.call(self._end)

    async def close(self, timeout: float) -> None:
        async def on_thread() -> None:
            self._stop_beating()
            try:
                await self.raw.close(timeout=timeout)
            except Exception:
                self.raw.terminate()

        await self.thread.run(on_thread())

    # -- the heartbeat, on the thread -------------------------------------------------------------------
    def beat(self, query: Callable[[], tuple[str, tuple[Any, ...]]], confirmed: float,
             on_lost: Callable[[LeaseConnection, str], object]) -> None:
        """Start the heartbeat: every HEARTBEAT, `query()` (the SQL and its arguments, read at each beat) with
        QUERY_TIMEOUT; a failure, or no confirmation within FENCE_AFTER of the last, drops the session here and
        calls `on_lost(self, reason)` on the bots' loop. `confirmed`: the session's first confirmation (the
        time its registration was sent)."""
        def start() -> None:
            self._confirm(confirmed, on_lost)
            if self._beater is None and self.lost is None:
                self._beater = self.thread.loop.create_task(self._keep_beating(query, on_lost), name="lease-beat")

        self.thread.call(start)

    async def _keep_beating(self, query: Callable[[], tuple[str, tuple[Any, ...]]],
                            on_lost: Callable[[LeaseConnection, str], object]) -> None:
        while self.lost is None:
            await asyncio.sleep(timing.HEARTBEAT)
            async with self._locked():
                if self.lost is not None:
                    return
                sent = time.monotonic()
                try:
                    sql, args = query()
                    async with asyncio.timeout(timing.QUERY_TIMEOUT):
                        outcome = await self.raw.execute(sql, *args)
                except Exception as error:
                    self._lose(f"heartbeat failed: {error!r}", on_lost)
                    return
            self.outcome = str(outcome)
            self._confirm(sent, on_lost)

    def _confirm(self, sent: float, on_lost: Callable[[LeaseConnection, str], object]) -> None:
        if self.lost is not None:
            return
        self.confirmed_at = max(self.confirmed_at, sent)
        self.last_sent = max(self.last_sent, sent)
        if self._fence_timer is not None:
            self._fence_timer.cancel()
        self._fence_timer = self.thread.loop.call_at(
            self.confirmed_at + timing.FENCE_AFTER, self._lose,
            f"lease not confirmed within {timing.FENCE_AFTER:g} s", on_lost)

    def _lose(self, reason: str, on_lost: Callable[[LeaseConnection, str], object]) -> None:
        """The session no longer confirms our leases: the gate closes now, the session is dropped now (its locks
        go), and the bots' loop is told to cut the bots off (fence)."""
        if self.lost is not None:
            return
        self.lost = reason
        self.confirmed_at = -math.inf  # before anything else: the bots' gate refuses every send from now on
        self._end()
        to_loop(self.owner, self.context, on_lost, self, reason)

    def _stop_beating(self) -> None:
        if self.lost is None:
            self.lost = "closed"
        self.confirmed_at = -math.inf
        if self._fence_timer is not None:
            self._fence_timer.cancel()
        if self._beater is not None and self._beater is not asyncio.current_task():
            self._beater.cancel()

    def _end(self) -> None:
        self._stop_beating()
        if not self.raw.is_closed():
            self.raw.terminate()

