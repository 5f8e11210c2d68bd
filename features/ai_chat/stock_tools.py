"""The stocks game as model tools: schemas here, the game's own code behind `lookup("stocks.tools")`.

The stocks feature's tool object returns plain text for every action (a result or the refusal a member would
get); the text is relayed to the member after the model's reply, as the original did with its embeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord

_SYMBOL = {"symbol": {"type": "string", "description": "ticker symbol, e.g. AAPL"}}


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required}}}


TOOLS = [
    _tool("stock_price", "Current price of a stock.", _SYMBOL, ["symbol"]),
    _tool("stock_buy", "Buy shares for the member in the paper-trading game, by quantity or dollar amount.",
          {**_SYMBOL, "quantity": {"type": "number"}, "dollar_amount": {"type": "number"}}, ["symbol"]),
    _tool("stock_sell", "Sell the member's shares; all of them when quantity is omitted.",
          {**_SYMBOL, "quantity": {"type": "number"}}, ["symbol"]),
    _tool("stock_portfolio", "The member's own portfolio.", {}, []),
    _tool("stock_leaderboard", "This server's leaderboard.", {}, []),
]


class StockToolbox:
    """Adapts the stocks feature's actions to the tool protocol ai_chat speaks (`tools`, `run`)."""

    tools = TOOLS

    def __init__(self, game_tools: Any):
        self.game = game_tools

    async def run(self, name: str, arguments: Mapping[str, Any], *, member: discord.abc.User,
                  channel: discord.abc.Messageable) -> str:
        guild = getattr(member, "guild", None)
        if guild is None:
            return "The stocks game works in a server only."
        symbol = str(arguments.get("symbol", ""))
        if name == "stock_price":
            return await self.game.price(symbol)
        if name == "stock_buy":
            quantity, dollars = arguments.get("quantity"), arguments.get("dollar_amount")
            if quantity is None and dollars is None:
                return "Please specify a quantity or dollar amount."
            return await self.game.buy(guild.id, member.id, symbol, shares=quantity,
                                       dollars=None if quantity is not None else dollars)
        if name == "stock_sell":
            return await self.game.sell(guild.id, member.id, symbol, shares=arguments.get("quantity"))
        if name == "stock_portfolio":
            return await self.game.portfolio(guild.id, member.id)
        if name == "stock_leaderboard":
            return await self.game.leaderboard(guild.id)
        return "Unknown stock tool."
