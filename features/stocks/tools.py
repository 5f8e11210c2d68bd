"""Stock actions other features of the instance may use (AI chat's tools): `ctx.lookup("stocks.tools")`.

Every method returns plain text for a model to read or relay: the result, or the refusal a member would get from
the command (bad input, no key, Finnhub down, too little cash, the member's rate limit). Nothing here raises
for those; a database outage raises as it does for commands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from supervisor.sdk import UserError

from . import money, queries
from .game import StockGame
from .money import parse_buy_amount, parse_sell_amount, parse_symbol

Number = int | float | str | Decimal


class StockTools:
    def __init__(self, game: StockGame):
        self._game = game

    async def price(self, symbol: str) -> str:
        async def run() -> str:
            quote = await self._game.quote(parse_symbol(symbol))
            stale = " (stale: Finnhub is not answering; last price seen)" if quote.stale else ""
            return (f"{quote.symbol}: {money.dollars(quote.price)}{stale}, change "
                    f"{money.signed_dollars(quote.change)} ({money.percent(quote.change_pct)}), previous close "
                    f"{money.dollars(quote.prev_close)}")
        return await _text(self._game, run)

    async def buy(self, guild_id: int, member_id: int, symbol: str, *, shares: Number | None = None,
                  dollars: Number | None = None) -> str:
        """Buy `shares` (fractions to 4 places) or for `dollars`."""
        async def run() -> str:
            self._game.rate_limit(member_id)
            if (shares is None) == (dollars is None):
                raise UserError("Please specify a quantity or dollar amount (one of them).")
            amount = parse_buy_amount(_plain(shares) if shares is not None else f"${_plain(dollars)}")
            ticker = parse_symbol(symbol)
            trade = await self._game.buy(guild_id, member_id, ticker, amount)
            return (f"Bought {money.shares(trade.quantity)} shares of {ticker} at {money.dollars(trade.price)} for "
                    f"{money.dollars(trade.total)}; cash remaining {money.dollars(trade.cash_left)}.")
        return await _text(self._game, run)

    async def sell(self, guild_id: int, member_id: int, symbol: str, *, shares: Number | None = None) -> str:
        """Sell `shares`, or every share of `symbol` when None."""
        async def run() -> str:
            self._game.rate_limit(member_id)
            quantity = parse_sell_amount("all" if shares is None else _plain(shares))
            ticker = parse_symbol(symbol)
            trade = await self._game.sell(guild_id, member_id, ticker, quantity)
            return (f"Sold {money.shares(trade.quantity)} shares of {ticker} at {money.dollars(trade.price)} for "
                    f"{money.dollars(trade.total)}; realized P/L {money.signed_dollars(trade.realised)}; cash "
                    f"{money.dollars(trade.cash)}.")
        return await _text(self._game, run)

    async def portfolio(self, guild_id: int, member_id: int) -> str:
        async def run() -> str:
            found = await queries.portfolio(self._game.ctx.pool, guild_id, member_id)
            if found is None:
                return f"No portfolio yet: starting cash is {money.dollars(money.STARTING_CASH)}."
            valued = await self._game.valued(found)
            lines = [f"Cash {money.dollars(found.cash)}; total value {money.dollars(valued.total)} "
                     f"(P/L {money.signed_dollars(valued.profit)})."]
            lines += [f"{h.symbol}: {money.shares(h.quantity)} shares, average cost {money.dollars(h.avg_cost)}, now "
                      f"{money.dollars(valued.prices[h.symbol])}" for h in found.holdings]
            return "\n".join(lines) if found.holdings else lines[0] + " No stocks held."
        return await _text(self._game, run)

    async def leaderboard(self, guild_id: int) -> str:
        async def run() -> str:
            ranked = await self._game.leaderboard(guild_id)
            if not ranked:
                return "No portfolios yet."
            return "\n".join(f"#{n} <@{v.portfolio.user_id}>: {money.dollars(v.total)} "
                             f"({money.signed_dollars(v.profit)})" for n, v in enumerate(ranked, 1))
        return await _text(self._game, run)


def _plain(value: Number | None) -> str:
    """A model's number as the text a member would type (floats via repr, so 0.1 stays 0.1)."""
    return str(value).strip() if not isinstance(value, float) else repr(value)


async def _text(game: StockGame, work: Callable[[], Awaitable[str]]) -> str:
    try:
        game.api_key()
        return await work()
    except UserError as error:
        return str(error)
