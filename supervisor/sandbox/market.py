"""The sandbox's simulated stock market: a seeded random walk over well-known tickers, served on loopback as
Finnhub's `/api/v1/quote`, so a newcomer plays the stock game with no API key and nothing leaves the machine."""

from __future__ import annotations

import math
import random
import time
from decimal import ROUND_HALF_UP, Decimal

from aiohttp import web

from supervisor.sandbox.standin import serve_loopback

# Roughly where these traded recently; the walk starts here.
OPENING = {
    "AAPL": 190, "MSFT": 410, "GOOG": 142, "AMZN": 178, "NVDA": 880, "META": 495, "TSLA": 175, "BRK.B": 405,
    "JPM": 195, "V": 275, "MA": 470, "WMT": 60, "PG": 160, "JNJ": 155, "XOM": 115, "CVX": 155, "KO": 60,
    "PEP": 170, "MCD": 275, "DIS": 112, "NFLX": 620, "ADBE": 480, "CRM": 300, "ORCL": 125, "INTC": 35, "AMD": 165,
    "IBM": 185, "CSCO": 48, "NKE": 92, "SBUX": 85, "BA": 180, "UBER": 72, "PYPL": 62, "SHOP": 70, "SPOT": 300,
    "COIN": 240,
}
STEP_SECONDS = 5.0  # prices move every 5 s: a trade made now and one made a minute later see different prices
VOLATILITY = 0.004  # per step, log-normal
MAX_STEPS_PER_ASK = 10_000  # a sandbox left idle for hours catches up in bounded work
CENT = Decimal("0.01")


class SimulatedMarket:
    def __init__(self, seed: int = 20260414):
        self._random = random.Random(seed)
        self.prev_close = {symbol: Decimal(price).quantize(CENT) for symbol, price in OPENING.items()}
        self.prices = dict(self.prev_close)
        self._started = time.monotonic()
        self._steps = 0
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.requests = 0

    def advance(self) -> None:
        due = int((time.monotonic() - self._started) / STEP_SECONDS)
        for _ in range(min(due - self._steps, MAX_STEPS_PER_ASK)):
            for symbol, price in self.prices.items():
                factor = Decimal(math.exp(self._random.gauss(0.0, VOLATILITY)))
                self.prices[symbol] = max(CENT, (price * factor).quantize(CENT, rounding=ROUND_HALF_UP))
        self._steps = due

    def change_pct(self, symbol: str) -> Decimal:
        return ((self.prices[symbol] - self.prev_close[symbol]) / self.prev_close[symbol] * 100).quantize(
            Decimal("0.0001"))

    async def _quote(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.advance()
        symbol = request.query.get("symbol", "").upper()
        price = self.prices.get(symbol)
        if price is None:  # what Finnhub answers for a ticker it does not know
            body = '{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}'
        else:
            prev = self.prev_close[symbol]
            body = (f'{{"c":{price},"d":{price - prev},"dp":{self.change_pct(symbol)},"h":{price},"l":{price},'
                    f'"o":{prev},"pc":{prev},"t":{int(time.time())}}}')
        return web.Response(text=body, content_type="application/json")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/v1/quote", self._quote)
        self._runner, self.url = await serve_loopback(app)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def render_market(market: SimulatedMarket | None) -> str:
    """The sandbox's `/market`: every ticker, its price and today's change, three to a line."""
    if market is None:
        return "The sandbox's simulated market is off: stock prices come from --finnhub-url / $FINNHUB_BASE_URL."
    market.advance()
    cells = []
    for symbol in sorted(market.prices):
        change = market.change_pct(symbol)
        cells.append(f"{symbol:<6}{market.prices[symbol]:>9}  {'▲' if change >= 0 else '▼'}{abs(change):5.2f}%")
    lines = ["  ".join(cells[i:i + 3]) for i in range(0, len(cells), 3)]
    return ("Simulated market (a seeded random walk, a step every 5 s; try `!stock buy AAPL 2`):\n  "
            + "\n  ".join(lines))
