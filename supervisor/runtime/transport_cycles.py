"""Closed sockets that are freed at once instead of waiting for a full garbage collection.

Python 3.11's asyncio socket transport keeps its read callback as a bound method of itself (`_read_ready_cb`),
a reference cycle that outlives the connection: every closed TCP connection (a pool's idle PostgreSQL connection,
an HTTP keep-alive connection to Discord's REST API, a migration's) leaves the transport, its socket object and
their dicts for the collector. The daemon freezes its heap in layers (supervisor/daemon/heap.py), and a frozen
cycle is reclaimed only when the heap is thawed, so these would pile up in a busy fleet. Dropping the callback
once the connection is lost (nothing reads from a lost connection) lets reference counting free the transport.
"""

from __future__ import annotations

from asyncio import selector_events
from typing import Any

_TRANSPORT: Any = selector_events._SelectorSocketTransport  # type: ignore[attr-defined]  # private, not in typeshed
_original = _TRANSPORT._call_connection_lost


def _nothing() -> None:
    """The read callback of a lost connection: the loop no longer watches its socket."""


def _call_connection_lost(self: Any, exc: BaseException | None) -> None:
    try:
        _original(self, exc)
    finally:
        self._read_ready_cb = _nothing


def free_closed_transports() -> None:
    """Process-wide, for every socket transport from now on (idempotent)."""
    _TRANSPORT._call_connection_lost = _call_connection_lost
