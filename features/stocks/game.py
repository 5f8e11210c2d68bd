"""The game's rules for one instance, used by the commands and by the tools offered to AI chat."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from supervisor.sdk import FeatureContext, UserError, http_session

from . import queries
from .money import MAX_SHARES, STARTING_CASH, BuyAmount, dollars, four, shares
from .quotes import Ask, Quote, QuoteError, QuoteService

DEFAULT_FINNHUB_URL = "https://finnhub.io"
SHARED_KEY = "stocks.quotes"
MEMBER_LIMIT = (10, 30.0)  # stock commands per member per window, as the original
NOT_CONFIGURED = ("Stock trading is not configured on this bot: its owner needs to put a Finnhub API key "
                  "(free at finnhub.io) in the instance's .env as `FINNHUB_API_KEY=...`.")
MAX_REMEMBERED_WRITES = 5000


@dataclass(frozen=True)
class Valued:
    """A portfolio at current prices; a holding whose quote failed is valued at its average cost."""

    portfolio: queries.Portfolio
    prices: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return self.portfolio.cash + sum((four(h.quantity * self.prices[h.symbol]) for h in self.portfolio.holdings),
                                         Decimal(0))

    @property
    def profit(self) -> Decimal:
        return self.total - STARTING_CASH


class StockGame:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self._service: QuoteService | None = None
        self._written: dict[str, float] = {}  # symbol -> fetched_at last written to this schema's stock_price_cache

    # -- access ------------------------------------------------------------------------------------
    def api_key(self) -> str:
        """This instance's Finnhub key; the sandbox's simulated market lends one to instances without."""
        key = self.ctx.secret("FINNHUB_API_KEY") or self.ctx.supervisor_setting("finnhub_fallback_key")
        if not key:
            raise UserError(NOT_CONFIGURED)
        return key

    def rate_limit(self, member_id: int) -> None:
        wait = self.ctx.limiter("commands", *MEMBER_LIMIT).try_acquire(member_id)
        if wait is not None:
            raise UserError(f"Slow down — try again in {math.ceil(wait)}s.")

    async def service(self) -> QuoteService:
        if self._service is None:
            session = await http_session(self.ctx)
            base_url = self.ctx.supervisor_setting("finnhub_url", DEFAULT_FINNHUB_URL) or DEFAULT_FINNHUB_URL
            self._service = await self.ctx.shared(SHARED_KEY, lambda: QuoteService(session, base_url, self.ctx.clock))
        return self._service

    # -- prices ------------------------------------------------------------------------------------
    def _ask(self) -> Ask:
        settings = self.ctx.settings
        return Ask(self.api_key(), calls_per_minute=settings["calls_per_minute"], busy_wait=settings["busy_wait"],
                   timeout=settings["request_timeout"])

    async def quote(self, symbol: str) -> Quote:
        """For display: cached up to quote_ttl; a recent cached price marked stale when Finnhub fails."""
        settings = self.ctx.settings
        service = await self.service()
        try:
            quote = await service.quote(symbol, self._ask(), max_age=settings["quote_ttl"],
                                        stale_max_age=settings["stale_quote_max_age"])
        except QuoteError as error:
            raise UserError(str(error)) from None
        await self._write_cache(quote)
        return quote

    async def trade_quote(self, symbol: str) -> Quote:
        """For a trade: no older than trade_quote_max_age, never stale."""
        settings = self.ctx.settings
        service = await self.service()
        try:
            quote = await service.quote(symbol, self._ask(), max_age=settings["trade_quote_max_age"])
        except QuoteError as error:
            raise UserError(f"{error} Nothing was traded.") from None
        await self._write_cache(quote)
        return quote

    async def prices(self, symbols: set[str]) -> dict[str, Decimal | None]:
        """Each symbol asked once (the original asked once per holding per portfolio); None where it failed."""
        ordered = sorted(symbols)
        results = await asyncio.gather(*(self.quote(symbol) for symbol in ordered), return_exceptions=True)
        found: dict[str, Decimal | None] = {}
        for symbol, result in zip(ordered, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancelled: not a failed price
            found[symbol] = result.price if isinstance(result, Quote) else None
        return found

    async def _write_cache(self, quote: Quote) -> None:
        """Keep the original's stock_price_cache current, once per upstream answer; its failure costs nothing."""
        if quote.stale or self._written.get(quote.symbol, 0.0) >= quote.fetched_at:
            return
        if len(self._written) > MAX_REMEMBERED_WRITES:
            self._written.clear()
        self._written[quote.symbol] = quote.fetched_at
        try:
            await queries.remember_price(self.ctx.pool, quote.symbol, quote.price, quote.prev_close, quote.change_pct,
                                         dt.datetime.fromtimestamp(quote.fetched_at, dt.UTC))
        except Exception as error:  # the original ignores cache write errors too
            self.ctx.log.warning("price_cache_write_failed", symbol=quote.symbol, error=type(error).__name__)

    # -- trades ------------------------------------------------------------------------------------
    async def buy(self, guild_id: int, member_id: int, symbol: str, amount: BuyAmount) -> queries.Bought:
        quote = await self.trade_quote(symbol)
        quantity = amount.shares_at(quote.price)
        if quantity <= 0:
            raise UserError(f"**{dollars(amount.dollars or Decimal(0))}** buys less than 0.0001 shares of "
                            f"**{symbol}** at {dollars(quote.price)}.")
        if quantity > MAX_SHARES:
            raise UserError(f"That is more shares than one trade may move (at most {MAX_SHARES:,}).")
        return await queries.buy(self.ctx.pool, guild_id, member_id, symbol, quantity, quote.price)

    async def sell(self, guild_id: int, member_id: int, symbol: str, quantity: Decimal | None) -> queries.Sold:
        # Refuse before asking Finnhub when there is nothing to sell; the transaction checks again under its locks.
        held = await queries.held(self.ctx.pool, guild_id, member_id, symbol)
        if held is None:
            raise UserError(f"You don't own any **{symbol}** shares.")
        if quantity is not None and quantity > held:
            raise UserError(f"You only have **{shares(held)}** shares of **{symbol}**.")
        quote = await self.trade_quote(symbol)
        return await queries.sell(self.ctx.pool, guild_id, member_id, symbol, quantity, quote.price)

    async def valued(self, portfolio: queries.Portfolio) -> Valued:
        return (await self.valued_all([portfolio]))[0]

    async def valued_all(self, portfolios: list[queries.Portfolio]) -> list[Valued]:
        symbols = {h.symbol for p in portfolios for h in p.holdings}
        prices = await self.prices(symbols)
        valued = []
        for portfolio in portfolios:
            own = {h.symbol: prices.get(h.symbol) or h.avg_cost for h in portfolio.holdings}
            valued.append(Valued(portfolio, own))
        return valued

    async def leaderboard(self, guild_id: int, top: int = 10) -> list[Valued]:
        valued = await self.valued_all(await queries.all_portfolios(self.ctx.pool, guild_id))
        return sorted(valued, key=lambda v: (-v.total, v.portfolio.user_id))[:top]

    async def reset(self, guild_id: int, member_id: int) -> None:
        await queries.reset(self.ctx.pool, guild_id, member_id)
