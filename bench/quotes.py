"""Finnhub calls for a fleet: one process-wide quote service against one cache per instance.

What it measures, honestly: the quote layer only. It runs the stocks feature's real QuoteService in this process
against a local Finnhub stand-in that counts requests and, like Finnhub's free plan, answers 429 past 60 calls a
minute per key. "Shared" is what discord-supervisor does (one service for every instance: `ctx.shared`);
"per instance" gives each of the N instances its own service, cache and HTTP session, which is what N processes
(one bot each) have. Every instance's members ask for the same symbols at once. It does not start N Discord bots
(bench/bots_per_process.py measures hosting); the askers call the service as the `stock price` command does.

    .venv/bin/python bench/quotes.py [--instances 200] [--members 5] [--symbols 10]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from collections import defaultdict, deque

import aiohttp
import structlog
from aiohttp import web

from features.stocks.quotes import Ask, QuoteError, QuoteService

SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "WMT", "XOM", "KO", "DIS", "NFLX"]
FREE_PLAN_PER_MINUTE = 60


class StandIn:
    """Counts quote requests; refuses a key's 61st call within a minute with 429, as Finnhub's free plan does."""

    def __init__(self) -> None:
        self.requests = 0
        self.refused = 0
        self._recent: dict[str, deque[float]] = defaultdict(deque)

    async def quote(self, request: web.Request) -> web.Response:
        self.requests += 1
        recent = self._recent[request.headers.get("X-Finnhub-Token", "")]
        now = time.monotonic()
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= FREE_PLAN_PER_MINUTE:
            self.refused += 1
            return web.json_response({"error": "API limit reached"}, status=429)
        recent.append(now)
        return web.Response(text='{"c":187.5,"d":1.5,"dp":0.8065,"pc":186}', content_type="application/json")


async def run_fleet(url: str, instances: int, members: int, symbols: list[str], *, shared: bool, one_key: bool
                    ) -> tuple[int, int, int]:
    """Returns (asks answered, asks refused, seconds). Every instance's members ask every symbol at once."""
    sessions = [aiohttp.ClientSession() for _ in range(1 if shared else instances)]
    services = [QuoteService(session, url) for session in sessions]
    answered = refused = 0

    async def ask(instance: int, symbol: str) -> None:
        nonlocal answered, refused
        service = services[0 if shared else instance]
        key = "operator-key" if one_key else f"key-{instance}"
        try:
            await service.quote(symbol, Ask(key, busy_wait=0.0, timeout=120.0), max_age=60.0)
            answered += 1
        except QuoteError:
            refused += 1

    try:
        await asyncio.gather(*(ask(i, s) for i in range(instances) for _ in range(members) for s in symbols))
    finally:
        for session in sessions:
            await session.close()
    return answered, refused, sum(s.upstream_calls for s in services)


async def main(instances: int, members: int, symbol_count: int) -> None:
    symbols = SYMBOLS[:symbol_count]
    asks = instances * members * len(symbols)
    print(f"{instances} instances x {members} members x {len(symbols)} symbols = {asks} price asks, all at once; "
          f"Finnhub stand-in allows {FREE_PLAN_PER_MINUTE} calls/min per key")
    print(f"{'API keys':<28}{'quote service':<16}{'Finnhub calls':>14}{'429 refusals':>14}{'asks answered':>15}")
    for one_key in (False, True):
        for shared in (True, False):
            stand_in = StandIn()
            app = web.Application()
            app.router.add_get("/api/v1/quote", stand_in.quote)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            try:
                answered, _refused, _calls = await run_fleet(f"http://127.0.0.1:{port}", instances, members, symbols,
                                                             shared=shared, one_key=one_key)
            finally:
                await runner.cleanup()
            keys = "one for the whole fleet" if one_key else "one per instance"
            service = "shared (ours)" if shared else "per instance"
            print(f"{keys:<28}{service:<16}{stand_in.requests:>14}{stand_in.refused:>14}{answered:>10}/{asks}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--symbols", type=int, default=10)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # refusals are counted, not logged
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 200 sessions' sockets at once
    asyncio.run(main(args.instances, args.members, args.symbols))
