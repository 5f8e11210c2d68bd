"""`stock` commands (aliases `stocks`, `st`), as the original, with its quirks fixed."""

from __future__ import annotations

import discord
from discord.ext import commands
from supervisor.sdk import FeatureContext, UserError

from . import embeds, queries
from .game import NOT_CONFIGURED, StockGame
from .money import parse_buy_amount, parse_sell_amount, parse_symbol
from .reset import ask_reset
from .tools import StockTools

SUBCOMMANDS = "buy, sell, portfolio, price, leaderboard, history, reset"


class StocksCog(commands.Cog, name="Stocks"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.game = StockGame(ctx)
        ctx.provide("stocks.tools", StockTools(self.game))

    async def cog_load(self) -> None:
        try:
            self.game.api_key()
        except UserError:
            self.ctx.warn("api_key", "FINNHUB_API_KEY is not set in .env: stock commands say trading is not "
                                     "configured (set the key, or switch stocks off)")

    async def cog_unload(self) -> None:
        self.ctx.clear_warning("api_key")

    async def cog_check(self, context: commands.Context) -> bool:
        if context.guild is None:
            raise commands.NoPrivateMessage()
        try:
            self.game.api_key()
        except UserError:
            raise commands.CheckFailure(NOT_CONFIGURED) from None
        self.ctx.clear_warning("api_key")  # a key added to .env since start-up
        try:
            self.game.rate_limit(context.author.id)
        except UserError as error:
            raise commands.CheckFailure(str(error)) from None
        return True

    @staticmethod
    def _guild_id(context: commands.Context) -> int:
        assert context.guild is not None
        return context.guild.id

    async def _reply(self, context: commands.Context, embed: discord.Embed) -> None:
        await context.reply(embed=embed, mention_author=False)

    # -- commands ----------------------------------------------------------------------------------
    @commands.group(name="stock", aliases=["stocks", "st"], invoke_without_command=True,
                    brief=f"the stock-trading game: {SUBCOMMANDS}", usage="[subcommand]")
    async def stock(self, context: commands.Context, *, rest: str | None = None) -> None:
        if rest:
            start = self.ctx.command_start()
            raise UserError(f"Unknown stock command `{discord.utils.escape_markdown(rest.split()[0][:30])}`. "
                            f"Try `{start}stock` with one of: {SUBCOMMANDS}.")
        await self._show_portfolio(context, context.author)

    @stock.command(name="buy", aliases=["b"], brief="buy shares: a count or $dollars",  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
                   usage="<symbol> <shares|$dollars>")
    async def buy(self, context: commands.Context, symbol: str, *, amount: str) -> None:
        ticker, parsed = parse_symbol(symbol), parse_buy_amount(amount)
        trade = await self.game.buy(self._guild_id(context), context.author.id, ticker, parsed)
        await self._reply(context, embeds.bought(ticker, trade))

    @stock.command(name="sell", aliases=["s"], brief="sell shares: a count or all", usage="<symbol> <shares|all>")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def sell(self, context: commands.Context, symbol: str, *, amount: str) -> None:
        ticker, quantity = parse_symbol(symbol), parse_sell_amount(amount)
        trade = await self.game.sell(self._guild_id(context), context.author.id, ticker, quantity)
        await self._reply(context, embeds.sold(ticker, trade))

    @stock.command(name="portfolio", aliases=["port", "pf", "p"], brief="a portfolio at current prices",  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
                   usage="[member]")
    async def portfolio(self, context: commands.Context, *, member: discord.Member | None = None) -> None:
        await self._show_portfolio(context, member or context.author)

    async def _show_portfolio(self, context: commands.Context, member: discord.Member | discord.User) -> None:
        guild_id = self._guild_id(context)
        if member.id == context.author.id:  # your own first look opens your account, as in the original
            await queries.ensure_portfolio(self.ctx.pool, guild_id, member.id)
        # Someone else's is only read: looking creates no row for them (the original did).
        found = await queries.portfolio(self.ctx.pool, guild_id, member.id)
        if found is None:
            raise UserError(f"**{member.display_name}** has not played the stock game yet.")
        await self._reply(context, embeds.portfolio(member.display_name, await self.game.valued(found)))

    @stock.command(name="price", aliases=["quote", "q"], brief="a stock's price", usage="<symbol>")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def price(self, context: commands.Context, *, symbol: str) -> None:
        await self._reply(context, embeds.price(await self.game.quote(parse_symbol(symbol))))

    @stock.command(name="leaderboard", aliases=["lb", "top"], brief="the top 10 by total value")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def leaderboard(self, context: commands.Context) -> None:
        ranked = await self.game.leaderboard(self._guild_id(context))
        await self._reply(context, embeds.leaderboard(ranked, self.ctx.command_start()))

    @stock.command(name="history", aliases=["hist", "h"], brief="your last 10 trades")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def history(self, context: commands.Context) -> None:
        trades = await queries.history(self.ctx.pool, self._guild_id(context), context.author.id)
        await self._reply(context, embeds.history(context.author.display_name, trades))

    @stock.command(name="reset", brief="start over with $1,000 (asks first)")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def reset(self, context: commands.Context) -> None:
        await ask_reset(self.game, context)
