"""A local stand-in for Finnhub's quote API that counts requests and can misbehave on demand.

`finnhub` fixture: `finnhub.url`, `finnhub.prices["AAPL"] = "187.5"`, `finnhub.mode = "500"` (or "429",
"timeout", "garbage", "ok"), `finnhub.hold()` / `finnhub.release()` to keep answers back, `finnhub.calls(symbol)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest_asyncio
from aiohttp import web

DEFAULT_PRICES = {"AAPL": "187.5", "MSFT": "402.25", "TSLA": "251.1", "NVDA": "880.08", "GOOG": "141.8"}


@dataclass
class Request:
    symbol: str
    token: str | None


@dataclass
class FinnhubStandIn:
    prices: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    prev_close: dict[str, str] = field(default_factory=dict)
    mode: str = "ok"
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _open: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._open.set()

    def hold(self) -> None:
        """Answers wait until release(): concurrent askers pile up behind the first call."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def calls(self, symbol: str | None = None) -> int:
        return sum(1 for r in self.requests if symbol is None or r.symbol == symbol)

    async def quote(self, request: web.Request) -> web.StreamResponse:
        symbol = request.query.get("symbol", "")
        self.requests.append(Request(symbol, request.headers.get("X-Finnhub-Token")))
        await self._open.wait()
        if self.mode == "500":
            return web.Response(status=500, text="Internal Server Error")
        if self.mode == "429":
            return web.json_response({"error": "API limit reached. Please try again later."}, status=429)
        if self.mode == "timeout":
            await asyncio.sleep(30)
        if self.mode == "garbage":
            return web.Response(text="<html>not json</html>", content_type="application/json")
        price = self.prices.get(symbol)
        if price is None:  # what Finnhub answers for a ticker it does not know
            return _json('{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}')
        prev = self.prev_close.get(symbol, price)
        change = Decimal(price) - Decimal(prev)
        percent = (change / Decimal(prev) * 100).quantize(Decimal("0.0001"))
        return _json(f'{{"c":{price},"d":{change},"dp":{percent},"h":{price},"l":{price},"o":{prev},"pc":{prev},'
                     '"t":1700000000}')


def _json(text: str) -> web.Response:
    # Exactly `application/json`, and numbers written as Finnhub writes them (no float round trip here).
    return web.Response(text=text, content_type="application/json")


@pytest_asyncio.fixture
async def finnhub() -> AsyncIterator[FinnhubStandIn]:
    stand_in = FinnhubStandIn()
    app = web.Application()
    app.router.add_get("/api/v1/quote", stand_in.quote)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stand_in.url = f"http://127.0.0.1:{port}"
    try:
        yield stand_in
    finally:
        stand_in.release()
        await runner.cleanup()
