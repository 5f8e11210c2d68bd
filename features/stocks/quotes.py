"""One quote service for the whole process: a cache, one upstream call per symbol at a time, a token bucket per key.

Quotes are public data, so every hosted bot reads the same cache: 200 bots asking for AAPL cost one Finnhub
call, not 200. Each API key keeps its own budget (Finnhub's free plan: 60 calls a minute per key).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

import aiohttp
import structlog
from supervisor.sdk import SystemClock, count

from .money import CENT4

QUOTE_PATH = "/api/v1/quote"
MAX_CACHED_SYMBOLS = 5000
UNKNOWN_SYMBOL_TTL = 300.0  # an unknown ticker is asked again only after this long
MAX_BODY_BYTES = 64 * 1024
MAX_PRICE = Decimal(10) ** 9  # far above any share price; keeps every sum inside NUMERIC(18,4)

log = structlog.get_logger("features.stocks.quotes")


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: Decimal
    prev_close: Decimal
    change_pct: Decimal
    fetched_at: float  # time.time() of the upstream answer: shown to users and written to stock_price_cache
    stale: bool = False  # served from the cache because Finnhub failed
    received: float = field(default=0.0, compare=False)  # the service clock's monotonic(): for its age

    @property
    def change(self) -> Decimal:
        return self.price - self.prev_close


class QuoteError(Exception):
    """A price could not be had; str() is the sentence a user sees."""


class UnknownSymbol(QuoteError):
    def __init__(self, symbol: str):
        super().__init__(f"Could not find stock symbol **{symbol}**. Make sure you're using a valid US stock ticker "
                         "(e.g., AAPL, TSLA, MSFT).")


class PricesBusy(QuoteError):
    def __init__(self, seconds: float):
        self.retry_after = max(1, math.ceil(seconds))
        super().__init__(f"Prices are busy right now (this bot's Finnhub budget is used up for the moment); "
                         f"try again in {self.retry_after}s.")


class UpstreamFailed(QuoteError):
    """Finnhub failed; a display may fall back to a recent cached price, a trade may not."""


class TokenBucket:
    """`rate` calls a minute, bursts up to `rate`. A taker may reserve a token that refills soon and sleep for it."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.tokens = float(per_minute)
        self.updated = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(float(self.per_minute), self.tokens + (now - self.updated) * self.per_minute / 60.0)
        self.updated = now

    def reserve(self, max_wait: float) -> float:
        """Take one token; return how long to wait before using it. Raise PricesBusy if that is over max_wait."""
        now = time.monotonic()
        self._refill(now)
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) * 60.0 / self.per_minute
        if wait > max_wait:
            raise PricesBusy(wait)
        self.tokens -= 1
        return wait

    def drain(self) -> None:
        """Finnhub said 429: spend nothing more on this key until the bucket refills."""
        self._refill(time.monotonic())
        self.tokens = min(self.tokens, 0.0)


@dataclass(frozen=True)
class Ask:
    """One asker's terms: its instance's key and settings."""

    api_key: str
    calls_per_minute: int = 60
    busy_wait: float = 2.0  # how long to wait for a token before "prices are busy"
    timeout: float = 10.0


class QuoteService:
    """Shared by every instance of the process (`ctx.shared("stocks.quotes", ...)`); holds no instance's state."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, clock: SystemClock | None = None):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.clock = clock or SystemClock()  # the cache's ages (a test's clock moves them)
        self._cache: OrderedDict[str, Quote] = OrderedDict()
        self._unknown: dict[str, float] = {}  # symbol -> monotonic time Finnhub said c == 0
        self._in_flight: dict[str, asyncio.Future[Quote]] = {}
        self._buckets: dict[str, TokenBucket] = {}  # by a digest of the key: the key itself is never a dict key
        self.upstream_calls = 0
        self.joined = 0  # askers served by a call another asker had already started

    async def quote(self, symbol: str, ask: Ask, *, max_age: float, stale_max_age: float = 0.0) -> Quote:
        """A quote no older than `max_age` seconds. If Finnhub fails and a cached quote younger than
        `stale_max_age` exists, that one comes back marked stale; otherwise the failure is raised."""
        cached = self._cache.get(symbol)
        if cached is not None and self.age(cached) <= max_age:
            count("quote_cache_hits")  # for the asking instance, on /metrics
            return cached
        unknown_at = self._unknown.get(symbol)
        if unknown_at is not None and self.clock.monotonic() - unknown_at < UNKNOWN_SYMBOL_TTL:
            raise UnknownSymbol(symbol)
        try:
            return await self._fresh(symbol, ask)
        except UpstreamFailed:
            cached = self._cache.get(symbol)
            if cached is not None and self.age(cached) <= stale_max_age:
                return replace(cached, stale=True)
            raise

    async def _fresh(self, symbol: str, ask: Ask) -> Quote:
        pending = self._in_flight.get(symbol)
        if pending is not None:  # someone is already asking Finnhub for this symbol: share the answer
            self.joined += 1
            return await asyncio.shield(pending)
        future: asyncio.Future[Quote] = asyncio.get_running_loop().create_future()
        self._in_flight[symbol] = future
        try:
            quote = await self._fetch(symbol, ask)
        except BaseException as error:
            future.set_exception(error if isinstance(error, Exception) else UpstreamFailed("The price request was "
                                                                                           "cancelled."))
            future.exception()  # retrieved here: joiners get it too, and an unjoined future is not "never retrieved"
            raise
        finally:
            self._in_flight.pop(symbol, None)
        future.set_result(quote)
        return quote

    def _bucket(self, ask: Ask) -> TokenBucket:
        digest = hashlib.sha256(ask.api_key.encode()).hexdigest()
        bucket = self._buckets.get(digest)
        if bucket is None:
            bucket = self._buckets[digest] = TokenBucket(ask.calls_per_minute)
        bucket.per_minute = ask.calls_per_minute  # a live settings edit applies to the next call
        return bucket

    async def _fetch(self, symbol: str, ask: Ask) -> Quote:
        bucket = self._bucket(ask)
        wait = bucket.reserve(ask.busy_wait)
        if wait > 0:
            await asyncio.sleep(wait)
        self.upstream_calls += 1
        try:
            async with self.session.get(
                self.base_url + QUOTE_PATH, params={"symbol": symbol}, headers={"X-Finnhub-Token": ask.api_key},
                timeout=aiohttp.ClientTimeout(total=ask.timeout),
            ) as response:
                status = response.status
                body = await response.content.read(MAX_BODY_BYTES + 1)
        except TimeoutError:
            log.warning("finnhub_timeout", symbol=symbol, timeout=ask.timeout)
            raise UpstreamFailed("The price service (Finnhub) did not answer in time; try again in a moment.") from None
        except aiohttp.ClientError as error:
            log.warning("finnhub_unreachable", symbol=symbol, error=type(error).__name__)
            raise UpstreamFailed("I can't reach the price service (Finnhub) right now; try again in a moment.") \
                from None
        if status == 429:
            bucket.drain()
            log.warning("finnhub_rate_limited", symbol=symbol)
            raise UpstreamFailed("The price service (Finnhub) is rate-limiting this bot's API key; "
                                 "try again in a minute.")
        if status in (401, 403):
            log.warning("finnhub_refused_key", symbol=symbol, status=status)
            raise UpstreamFailed(f"Finnhub refused this bot's API key (HTTP {status}); the bot's owner should check "
                                 "FINNHUB_API_KEY in its .env.")
        if status != 200:
            log.warning("finnhub_error_status", symbol=symbol, status=status)
            raise UpstreamFailed(f"The price service (Finnhub) answered with an error (HTTP {status}); "
                                 "try again in a moment.")
        quote = _parse(symbol, body, self.clock)
        if quote is None:
            log.warning("finnhub_unreadable_answer", symbol=symbol, size=len(body))
            raise UpstreamFailed("The price service (Finnhub) sent an answer I can't read; try again later.")
        if quote.price == 0:
            self._unknown[symbol] = self.clock.monotonic()
            raise UnknownSymbol(symbol)
        self._unknown.pop(symbol, None)
        self._remember(quote)
        return quote

    def age(self, quote: Quote) -> float:
        """Seconds since the quote was received, on this service's clock."""
        return self.clock.monotonic() - quote.received

    def _remember(self, quote: Quote) -> None:
        self._cache[quote.symbol] = quote
        self._cache.move_to_end(quote.symbol)
        while len(self._cache) > MAX_CACHED_SYMBOLS:
            self._cache.popitem(last=False)
        if len(self._unknown) > MAX_CACHED_SYMBOLS:
            self._unknown.clear()


def _parse(symbol: str, body: bytes, clock: SystemClock) -> Quote | None:
    """Finnhub's `{"c": current, "pc": previous close, "dp": percent change, ...}`, read as Decimals (no floats)."""
    if len(body) > MAX_BODY_BYTES:
        return None
    try:
        data = json.loads(body, parse_float=Decimal, parse_int=Decimal, parse_constant=lambda _: None)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    price, prev_close = data.get("c"), data.get("pc")
    if not isinstance(price, Decimal) or not price.is_finite() or not 0 <= price <= MAX_PRICE:
        return None
    prev_close = prev_close if isinstance(prev_close, Decimal) and prev_close.is_finite() else Decimal(0)
    change_pct = data.get("dp")
    if not isinstance(change_pct, Decimal) or not change_pct.is_finite():
        change_pct = (price - prev_close) / prev_close * 100 if prev_close else Decimal(0)
    try:
        return Quote(symbol, price.quantize(CENT4), prev_close.quantize(CENT4), change_pct.quantize(CENT4),
                     clock.time(), received=clock.monotonic())
    except InvalidOperation:  # absurdly large numbers
        return None
