"""HTTP webhooks a feature answers (the Minecraft plugin's chargeback): served on the instance's own MCP listener
at `/webhook/<name>` and on the daemon's MCP endpoint at `/instances/<instance>/webhook/<name>`.

A feature offers one with `ctx.provide(webhook_key(name), handler)`; it is withdrawn with the feature. The
handler checks its own credentials (a webhook is not an MCP client: the MCP bearer token does not apply).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 64 * 1024  # the MCP listener's cap applies to its webhooks too


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    headers: Mapping[str, str] = field(repr=False)  # lower-case names
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: Mapping[str, Any]


WebhookHandler = Callable[[WebhookRequest], Awaitable[WebhookResponse]]


def webhook_key(name: str) -> str:
    """The service key a webhook named `name` is provided under."""
    return f"webhook:{name}"
