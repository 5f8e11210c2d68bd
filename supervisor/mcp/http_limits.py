"""Limits for an HTTP listener served by uvicorn inside the daemon, so idle or slow clients cannot use up its file
descriptors: a connection must finish each request's headers within `header_timeout` of being opened (or of the
previous response), idle keep-alive connections close after a few seconds, and at most `max_connections` are
served at once (beyond that uvicorn answers 503 and closes)."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0  # seconds from connecting (or from the last response) to a complete request head
KEEP_ALIVE_SECONDS = 5  # an idle keep-alive connection is closed after this long
MAX_CONNECTIONS = 256
MAX_HEAD_BYTES = 16 * 1024  # request line and headers


def protocol_with_header_timeout(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, which never times out a client that connects and sends nothing, or drips its
    headers one byte at a time: it gets `header_timeout` seconds for each request head."""

    class HeaderTimeoutProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's head gets its own deadline

        def _arm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(header_timeout, self._head_overdue)

        def _head_overdue(self) -> None:
            self._head_timer = None
            waiting = self.cycle is None or self.cycle.response_complete  # no request of theirs being answered
            if waiting and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def uvicorn_limits(header_timeout: float = HEADER_TIMEOUT) -> dict[str, Any]:
    """Keyword arguments for uvicorn.Config."""
    return {
        "http": protocol_with_header_timeout(header_timeout),
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "limit_concurrency": MAX_CONNECTIONS,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
    }
