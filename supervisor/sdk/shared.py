"""Process-wide services: one object per key for the whole fleet, created on first use and closed at shutdown.

This is what a single process can do that one process per bot cannot: one HTTP connection pool, one quote
cache, one upstream rate limit for every hosted bot. Values must hold no per-instance state.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import structlog

T = TypeVar("T")
Factory = Callable[[], T | Awaitable[T]]

log = structlog.get_logger("supervisor.shared")


class SharedServices:
    """Owned by the daemon (or a test harness); every instance context holds the same one."""

    def __init__(self, options: Mapping[str, str] | None = None):
        # Supervisor-wide settings (flags or the supervisor's environment) features may read: upstream URLs.
        self.options: Mapping[str, str] = dict(options or {})
        self._values: dict[str, Any] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._closed = False

    async def get(self, key: str, factory: Factory[T]) -> T:
        if key in self._values:
            return self._values[key]
        if self._closed:
            raise RuntimeError(f"shared service {key!r} asked for after shutdown")
        pending = self._pending.get(key)
        if pending is not None:  # another instance is creating it right now: wait for that one
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = factory()
            if inspect.isawaitable(value):
                value = await value
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: a failed factory is reported to its caller, not as "never retrieved"
            raise
        finally:
            self._pending.pop(key, None)
        self._values[key] = value
        future.set_result(value)
        return value

    def peek(self, key: str) -> Any | None:
        return self._values.get(key)

    async def close(self) -> None:
        """Close every service that has `aclose()` or `close()`, newest first; errors are logged, not raised."""
        self._closed = True
        values, self._values = self._values, {}
        for key, value in reversed(list(values.items())):
            closer = getattr(value, "aclose", None) or getattr(value, "close", None)
            if closer is None:
                continue
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception as error:
                log.warning("shared_service_close_failed", service=key, error=repr(error))
