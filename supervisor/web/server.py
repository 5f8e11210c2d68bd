"""The fleet's one HTTP listener: uvicorn on the daemon's own event loop, serving the console, /metrics and
(when MCP is on) the MCP endpoint in one Starlette app behind one Guard.

Limits: request bodies (the Guard), LIMIT_CONCURRENCY connections (uvicorn answers 503 beyond), and idle
connections: uvicorn closes a kept-alive connection after IDLE_TIMEOUT, and IdleClosingH11 also closes one that
never sends a request within it (uvicorn alone would keep it open forever, and a few hundred such connections
would exhaust the concurrency limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from uvicorn.protocols.http.h11_impl import H11Protocol

from supervisor.logs import get_logger
from supervisor.mcp.webhook_routes import Resolver, WebhookRoutes
from supervisor.web.console import Console
from supervisor.web.embedded import EmbeddedUvicorn, stop_embedded
from supervisor.web.guard import Guard
from supervisor.web.listen import HttpConfigError, HttpListen

if TYPE_CHECKING:
    from supervisor.daemon.main import Daemon

IDLE_TIMEOUT = 5.0
LIMIT_CONCURRENCY = 1000
log = get_logger("supervisor.http")

ListTools = Callable[[], Awaitable[list[dict[str, Any]]]]
CallTool = Callable[[str, dict[str, Any] | None], Awaitable[tuple[str, bool]]]


class IdleClosingH11(H11Protocol):
    """uvicorn's h11 protocol, whose keep-alive timer also runs from the moment a connection opens."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)


def bind(listen: HttpListen) -> socket.socket:
    """We bind the socket ourselves: uvicorn answers a bind failure with sys.exit, which would end the daemon."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen.host, listen.port))
    except OSError as error:
        sock.close()
        raise HttpConfigError(f"{listen.flag} cannot listen on {listen.host}:{listen.port}: {error.strerror}") \
            from error
    sock.setblocking(False)
    return sock


class WebService:
    """Serve the console, /metrics and /mcp until `stop()`."""

    def __init__(self, listen: HttpListen, daemon: Daemon, list_tools: ListTools, call_tool: CallTool,
                 webhooks: Resolver | None = None):
        self.listen = listen
        self.webhooks = webhooks  # /instances/<name>/webhook/<hook>: their handlers check their own secrets
        self.daemon = daemon
        self.console = Console(daemon, listen.token)
        self._tools = (list_tools, call_tool)
        self._server: EmbeddedUvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    def _app(self, port: int) -> Any:
        routes: list[Any] = list(self.console.routes())
        mcp_app = None
        if self.listen.mcp:
            from supervisor.mcp.server import streamable_app

            mcp_app = streamable_app(self.listen.host, port, *self._tools)
            routes.append(Mount("", app=mcp_app))

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            if mcp_app is None:
                yield
                return
            async with mcp_app.router.lifespan_context(mcp_app):  # the MCP session manager's task group
                yield

        guarded: Any = Guard(Starlette(routes=routes, lifespan=lifespan), self.listen, port)
        return WebhookRoutes(guarded, self.webhooks) if self.webhooks is not None else guarded

    async def start(self) -> None:
        sock = bind(self.listen)
        port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(port), log_config=None, access_log=False, lifespan="on",
                                server_header=False, http=IdleClosingH11, timeout_keep_alive=int(IDLE_TIMEOUT),
                                limit_concurrency=LIMIT_CONCURRENCY, timeout_graceful_shutdown=2,
                                h11_max_incomplete_event_size=16 * 1024)
        self._server = EmbeddedUvicorn(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]), name="http")
        while not self._server.started:
            if self._task.done():
                raise HttpConfigError(f"the HTTP listener did not start on {self.listen.host}:{port}")
            await asyncio.sleep(0.02)
        self.console.feed.start()
        host = f"[{self.listen.host}]" if ":" in self.listen.host else self.listen.host
        self.url = f"http://{host}:{port}/"
        log.info("http_listening", url=self.url, auth="token" if self.listen.token else "none (loopback)",
                 mcp=f"{self.url}mcp" if self.listen.mcp else None)

    async def stop(self) -> None:
        await self.console.feed.stop()
        if self._task is None or self._server is None:
            return
        await stop_embedded(self._server, self._task)
