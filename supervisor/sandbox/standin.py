"""The sandbox's stand-in HTTP services (NYT, Finnhub, the model) listen the same way: a free loopback port."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve_loopback(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, str]:
    """Serve `app` on a free port of 127.0.0.1: (its runner, to clean up; its base URL)."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
