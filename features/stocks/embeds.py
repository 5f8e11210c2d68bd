"""The original's stock embeds: titles, fields, colours and medals its users know."""

from __future__ import annotations

from decimal import Decimal

import discord
from supervisor.sdk import BLURPLE, FIELD_VALUE_LIMIT, GOLD, GREEN, RED, fit_lines

from . import queries
from .game import Valued
from .money import STARTING_CASH, dollars, four, percent, shares, signed_dollars
from .quotes import Quote

MEDALS = ("🥇", "🥈", "🥉")


def _colour(gain: Decimal) -> int:
    return GREEN if gain >= 0 else RED


def price(quote: Quote) -> discord.Embed:
    description = f"**{dollars(quote.price)}**"
    if quote.stale:
        description += (f"\n⚠️ Stale: Finnhub is not answering, so this is the last price seen "
                        f"<t:{int(quote.fetched_at)}:R>.")
    embed = discord.Embed(title=f"{quote.symbol} Stock Price", description=description, colour=_colour(quote.change))
    arrow = "▲" if quote.change >= 0 else "▼"
    embed.add_field(name="Daily Change", value=f"{arrow} {dollars(abs(quote.change))} ({percent(quote.change_pct)})")
    embed.add_field(name="Previous Close", value=dollars(quote.prev_close))
    return embed


def bought(symbol: str, trade: queries.Bought) -> discord.Embed:
    embed = discord.Embed(title="Stock Purchased", colour=GREEN,
                          description=f"Bought **{shares(trade.quantity)}** shares of **{symbol}** at "
                                      f"{dollars(trade.price)}")
    embed.add_field(name="Total Cost", value=dollars(trade.total))
    embed.add_field(name="Cash Remaining", value=dollars(trade.cash_left))
    return embed


def sold(symbol: str, trade: queries.Sold) -> discord.Embed:
    embed = discord.Embed(title="Stock Sold", colour=_colour(trade.realised),
                          description=f"Sold **{shares(trade.quantity)}** shares of **{symbol}** at "
                                      f"{dollars(trade.price)}")
    embed.add_field(name="Total Sale", value=dollars(trade.total))
    embed.add_field(name="Realized P/L", value=signed_dollars(trade.realised))
    embed.add_field(name="Cash Balance", value=dollars(trade.cash))
    return embed


def holding_lines(valued: Valued) -> list[str]:
    lines = []
    for holding in valued.portfolio.holdings:
        now = valued.prices[holding.symbol]
        change = (now - holding.avg_cost) / holding.avg_cost * 100 if holding.avg_cost else Decimal(0)
        icon = "📈" if change >= 0 else "📉"
        lines.append(f"{icon} **{holding.symbol}**: {shares(holding.quantity)} shares @ {dollars(now)} = "
                     f"{dollars(four(holding.quantity * now))} ({percent(change)})")
    return lines


def portfolio(name: str, valued: Valued) -> discord.Embed:
    profit = valued.profit
    embed = discord.Embed(title=f"Portfolio — {name}", description=f"Cash: **{dollars(valued.portfolio.cash)}**",
                          colour=_colour(profit))
    lines = holding_lines(valued)
    embed.add_field(name="Holdings", value=fit_lines(lines, FIELD_VALUE_LIMIT) if lines else "No stocks held.",
                    inline=False)
    embed.add_field(name="Total Value", value=dollars(valued.total))
    embed.add_field(name="Total P/L", value=f"{signed_dollars(profit)} ({percent(profit / STARTING_CASH * 100)})")
    return embed


def leaderboard(ranked: list[Valued], start: str) -> discord.Embed:
    if not ranked:
        return discord.Embed(title="Stock Leaderboard", colour=GOLD,
                             description=f"No portfolios found. Use `{start}stock buy` to get started!")
    lines = []
    for place, valued in enumerate(ranked, 1):
        medal = MEDALS[place - 1] if place <= len(MEDALS) else "▫️"
        lines.append(f"{medal} **#{place}** <@{valued.portfolio.user_id}> — {dollars(valued.total)} "
                     f"({signed_dollars(valued.profit)})")
    return discord.Embed(title="Stock Leaderboard", colour=GOLD, description=fit_lines(lines))


def history(name: str, trades: list[queries.Trade]) -> discord.Embed:
    lines = [f"{'🟢' if t.action == 'BUY' else '🔴'} **{t.action}** {shares(t.quantity)} {t.symbol} @ "
             f"{dollars(t.price)} ({dollars(t.total)}) — <t:{int(t.created_at.timestamp())}:R>" for t in trades]
    return discord.Embed(title=f"Trade History — {name}", colour=BLURPLE,
                         description=fit_lines(lines) if lines else "No trades yet.")
