"""Webhooks beside MCP on one listener: `/webhook/<name>` on an instance's own listener (as discord-bot-rs merged
its chargeback route into its MCP app) and `/instances/<instance>/webhook/<name>` on the fleet endpoint.

The webhook's handler checks its own credentials (the Minecraft plugin's secret), so the MCP bearer guard and
Host check do not apply to these paths; the 64 KiB body cap does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from supervisor.logs import get_logger
from supervisor.sdk.webhooks import MAX_BODY_BYTES, WebhookRequest, WebhookResponse, webhook_key

log = get_logger("supervisor.mcp")

# A path -> the handler that answers it, None when no such webhook is offered, or ... when it is not a webhook path.
Resolver = Callable[[str], Any]

_INSTANCE_PATH = re.compile(r"^/webhook/([a-z0-9_-]{1,64})$")
_FLEET_PATH = re.compile(r"^/instances/([a-z0-9][a-z0-9_-]{0,62})/webhook/([a-z0-9_-]{1,64})$")


def instance_resolver(services: Callable[[], dict[str, Any] | None]) -> Resolver:
    """For one instance's listener: `services()` is the running instance's services (None while it restarts)."""
    def resolve(path: str) -> Any:
        match = _INSTANCE_PATH.match(path)
        if match is None:
            return ...
        return (services() or {}).get(webhook_key(match.group(1)))
    return resolve


def fleet_resolver(runners: Callable[[], dict[str, Any]]) -> Resolver:
    """For the daemon's endpoint: the named instance's webhook, if it runs and offers it."""
    def resolve(path: str) -> Any:
        match = _FLEET_PATH.match(path)
        if match is None:
            return ...
        runner = runners().get(match.group(1))
        services = runner.ctx.services if runner is not None and runner.ctx is not None else {}
        return services.get(webhook_key(match.group(2)))
    return resolve


class WebhookRoutes:
    """ASGI: a webhook path goes to its handler, anything else to `inner` (the guarded MCP app)."""

    def __init__(self, inner: Any, resolve: Resolver):
        self.inner = inner
        self.resolve = resolve

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        handler = self.resolve(scope.get("path", ""))
        if handler is ...:
            await self.inner(scope, receive, send)
            return
        if handler is None:
            await _respond(send, WebhookResponse(404, {"error": "Not Found"}))
            return
        body = await _read_body(receive)
        if body is None:
            await _respond(send, WebhookResponse(413, {"error": "Payload Too Large"}))
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        try:
            response = await handler(WebhookRequest(scope["method"], headers, body))
        except Exception as error:  # a bug of the feature's: logged, the caller gets a plain 500
            log.error("webhook_failed", path=scope.get("path"), error=repr(error), exc_info=error)
            response = WebhookResponse(500, {"success": False, "error": "internal error"})
        await _respond(send, response)


async def _read_body(receive: Any) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Any, response: WebhookResponse) -> None:
    body = json.dumps(dict(response.body)).encode()
    await send({"type": "http.response.start", "status": response.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
