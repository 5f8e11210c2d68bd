"""A bot whose lease is not confirmed sends nothing: its events are dropped, its REST calls refused, and when
its lease is lost its gateway socket is cut at once (without a close handshake, which would take a round trip).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord


class LeaseNotConfirmed(Exception):
    """The instance's lease was not confirmed within the fencing bound: another host may run this bot now."""


def gate_rest(http: Any, valid: Callable[[], bool]) -> None:
    """Refuse every REST call of this client while `valid()` is false (a command in flight after a freeze)."""
    request = http.request

    async def gated(route: Any, **kwargs: Any) -> Any:
        if not valid():
            raise LeaseNotConfirmed(f"not sent: {route.method} {route.path}: the lease is not confirmed")
        return await request(route, **kwargs)

    http.request = gated


def cut_gateway(client: discord.Client) -> None:
    """Abort the gateway socket now (synchronously): Discord sees this session gone before any other host
    starts the bot. discord.py then finds the client closed and does not reconnect."""
    ws = getattr(client, "ws", None)
    sock = getattr(ws, "socket", None)
    transport = getattr(getattr(sock, "_writer", None), "transport", None) \
        or getattr(getattr(sock, "_conn", None), "transport", None)
    if transport is not None:
        transport.abort()
