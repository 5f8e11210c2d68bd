"""A local stand-in for the Minecraft companion plugin's HTTP API (verify, donators, ban), recording every call.

`mc_plugin` fixture: `mc_plugin.url`, `mc_plugin.secret`; `mc_plugin.codes["ABC123"] = "Steve"` (a code that
verifies); `mc_plugin.donators = [("123...", "premium")]`; `mc_plugin.ban_status = 500`; `mc_plugin.calls(path)`.
Every request must carry `Authorization: Bearer <secret>` (401 otherwise), as the plugin checks it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web


@dataclass
class PluginCall:
    method: str
    path: str
    authorized: bool
    body: Any


@dataclass
class McPluginStandIn:
    secret: str = "mc-shared-secret"
    codes: dict[str, str] = field(default_factory=dict)  # code -> username
    donators: list[tuple[str, str]] = field(default_factory=list)  # (discord_id, tier)
    ban_status: int = 200
    received: list[PluginCall] = field(default_factory=list)
    url: str = ""

    def calls(self, path: str) -> list[PluginCall]:
        return [call for call in self.received if call.path == path]

    async def _record(self, request: web.Request) -> PluginCall:
        body = await request.json() if request.can_read_body else None
        call = PluginCall(request.method, request.path,
                          request.headers.get("Authorization") == f"Bearer {self.secret}", body)
        self.received.append(call)
        return call

    async def verify(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if not call.authorized:
            return web.json_response({"success": False, "error": "Unauthorized"}, status=401)
        username = self.codes.get(call.body.get("code", ""))
        if username is None:
            return web.json_response({"success": False, "error": "Invalid or expired code"})
        return web.json_response({"success": True, "username": username, "uuid": "0f0e-uuid"})

    async def list_donators(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if not call.authorized:
            return web.json_response({"error": "Unauthorized"}, status=401)
        return web.json_response({"donators": [{"discord_id": d, "tier": t} for d, t in self.donators]})

    async def ban(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if not call.authorized:
            return web.json_response({"error": "Unauthorized"}, status=401)
        if self.ban_status != 200:
            return web.Response(status=self.ban_status, text="player store offline")
        return web.json_response({"success": True})


@pytest_asyncio.fixture
async def mc_plugin() -> AsyncIterator[McPluginStandIn]:
    stand_in = McPluginStandIn()
    app = web.Application()
    app.router.add_post("/api/verify", stand_in.verify)
    app.router.add_get("/api/donators", stand_in.list_donators)
    app.router.add_post("/api/ban", stand_in.ban)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stand_in.url = f"http://127.0.0.1:{port}"
    try:
        yield stand_in
    finally:
        await runner.cleanup()


async def post_webhook(url: str, payload: Any, token: str | None) -> tuple[int, Any]:
    """POST a chargeback as the plugin does; (status, JSON answer)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.post(url, json=payload, headers=headers) as response:
        return response.status, await response.json(content_type=None)
