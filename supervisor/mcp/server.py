"""The daemon's MCP endpoint: streamable HTTP at /mcp, built with the official `mcp` SDK and served by uvicorn
on the daemon's own event loop. Also the stdio server of `discord-supervisor mcp`, which forwards to a daemon.

Security: loopback by default; any other bind needs MCP_AUTH_TOKEN (bearer, compared in constant time); request
bodies over 64 KiB get 413; the Host header must name the bind (DNS rebinding); idle and slow connections are
closed and connections capped (http_limits.py).
"""

from __future__ import annotations

import asyncio
import hmac
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import uvicorn
from mcp.server import Server
from mcp.server.transport_security import TransportSecuritySettings

from supervisor import __version__
from supervisor.logs import get_logger
from supervisor.mcp.http_limits import HEADER_TIMEOUT, uvicorn_limits
from supervisor.mcp.instance_env import is_loopback
from supervisor.mcp.webhook_routes import Resolver, WebhookRoutes
from supervisor.web.embedded import EmbeddedUvicorn, stop_embedded

MAX_BODY_BYTES = 64 * 1024
PATH = "/mcp"

log = get_logger("supervisor.mcp")

ListTools = Callable[[], Awaitable[list[dict[str, Any]]]]
CallTool = Callable[[str, dict[str, Any] | None], Awaitable[tuple[str, bool]]]


class McpConfigError(Exception):
    """The MCP settings cannot be served safely or at all: the daemon says why and does not start."""


@dataclass(frozen=True)
class McpListen:
    host: str
    port: int
    token: str | None

    @classmethod
    def parse(cls, value: str, token: str | None) -> McpListen:
        host, _, port_text = value.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise McpConfigError(f"--mcp-listen must be HOST:PORT, e.g. 127.0.0.1:9090 (got {value!r})")
        listen = cls(host, int(port_text), token or None)
        if not listen.loopback and not listen.token:
            raise McpConfigError(f"--mcp-listen {host}:{port_text} is not a loopback address: set MCP_AUTH_TOKEN in "
                                 "the supervisor's environment, or bind 127.0.0.1")
        return listen

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def build_server(list_tools: ListTools, call_tool: CallTool) -> Server[Any]:
    async def on_list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=t["name"], description=t["description"], input_schema=t["inputSchema"])
            for t in await list_tools()
        ])

    async def on_call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        text, is_error = await call_tool(params.name, params.arguments)
        return types.CallToolResult(content=[types.TextContent(text=text)], is_error=is_error)

    return Server("discord-supervisor", version=__version__, on_list_tools=on_list_tools,
                  on_call_tool=on_call_tool)


class BearerGuard:
    """ASGI wrapper: 401 unless `Authorization: Bearer <token>` matches (constant-time)."""

    def __init__(self, app: Any, token: str | None):
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.expected is not None:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": b"Unauthorized"})
                return
        await self.app(scope, receive, send)


def streamable_app(host: str, port: int, list_tools: ListTools, call_tool: CallTool) -> Any:
    """The MCP endpoint at /mcp as a Starlette app (its lifespan runs the session manager). The fleet's HTTP
    listener mounts it beside the console; McpHttpService serves it alone."""
    server = build_server(list_tools, call_tool)
    shown = f"[{host}]" if ":" in host else host
    hosts = [f"{shown}:{port}"]
    if McpListen(host, port, None).loopback:
        hosts += [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"]
    security = TransportSecuritySettings(
        # A wildcard bind has no name to check: the bearer token is mandatory there.
        enable_dns_rebinding_protection=host not in ("0.0.0.0", "::"), allowed_hosts=hosts,
        allowed_origins=[f"http://{name}" for name in hosts],
    )
    return server.streamable_http_app(streamable_http_path=PATH, max_request_body_size=MAX_BODY_BYTES,
                                      transport_security=security, host=host)


class McpHttpService:
    """Serve the MCP endpoint until `stop()`."""

    def __init__(self, listen: McpListen, list_tools: ListTools, call_tool: CallTool,
                 webhooks: Resolver | None = None, header_timeout: float = HEADER_TIMEOUT):
        self.listen = listen
        app = streamable_app(listen.host, listen.port, list_tools, call_tool)
        guarded: Any = BearerGuard(app, listen.token)
        if webhooks is not None:  # the webhooks' handlers check their own secret
            guarded = WebhookRoutes(guarded, webhooks)
        config = uvicorn.Config(guarded, host=listen.host, port=listen.port,
                                log_config=None, access_log=False, lifespan="on", server_header=False,
                                **uvicorn_limits(header_timeout))  # idle and slow clients are closed
        self._server = EmbeddedUvicorn(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # We bind the socket ourselves: uvicorn answers a bind failure with sys.exit, which would end the daemon.
        family = socket.AF_INET6 if ":" in self.listen.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.listen.host, self.listen.port))
        except OSError as error:
            sock.close()
            raise McpConfigError(f"the MCP endpoint cannot listen on {self.listen.host}:{self.listen.port}: "
                                 f"{error.strerror}") from error
        sock.setblocking(False)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]), name="mcp-http")
        while not self._server.started:
            if self._task.done():
                raise McpConfigError(f"the MCP endpoint did not start on {self.listen.host}:{self.listen.port}")
            await asyncio.sleep(0.02)
        log.info("mcp_listening", url=f"http://{self.listen.host}:{self.listen.port}{PATH}",
                 auth="bearer" if self.listen.token else "none (loopback)")

    async def stop(self) -> None:
        if self._task is None:
            return
        await stop_embedded(self._server, self._task)
