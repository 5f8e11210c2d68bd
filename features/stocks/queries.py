"""The stock game's SQL. Money moves only inside one transaction holding the member's portfolio row lock.

Lock order is always portfolio, then holding: buys, sells and resets of one member queue behind each other
instead of deadlocking, and the guards (`cash_balance >= total`, `quantity >= q`) stay in the statements
themselves, so no interleaving can mint money or drive a balance below zero. Tables as discord-bot-rs keeps them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
from supervisor.sdk import UserError

from .money import STARTING_CASH, dollars, four, shares


@dataclass(frozen=True)
class Holding:
    symbol: str
    quantity: Decimal
    avg_cost: Decimal


@dataclass(frozen=True)
class Portfolio:
    user_id: int
    cash: Decimal
    holdings: list[Holding]


@dataclass(frozen=True)
class Trade:
    symbol: str
    action: str  # BUY or SELL
    quantity: Decimal
    price: Decimal
    total: Decimal
    created_at: dt.datetime


@dataclass(frozen=True)
class Bought:
    quantity: Decimal
    price: Decimal
    total: Decimal
    cash_left: Decimal


@dataclass(frozen=True)
class Sold:
    quantity: Decimal
    price: Decimal
    total: Decimal
    realised: Decimal
    cash: Decimal


async def _lock_portfolio(connection: asyncpg.Connection, guild_id: int, user_id: int, *, create: bool
                          ) -> Decimal | None:
    """The member's cash, with their portfolio row locked until the transaction ends (created first if asked)."""
    if create:
        await connection.execute(
            "INSERT INTO stock_portfolios (guild_id, user_id, cash_balance) VALUES ($1, $2, $3) "
            "ON CONFLICT (guild_id, user_id) DO NOTHING", str(guild_id), str(user_id), STARTING_CASH)
    return await connection.fetchval(
        "SELECT cash_balance FROM stock_portfolios WHERE guild_id = $1 AND user_id = $2 FOR UPDATE",
        str(guild_id), str(user_id))


async def ensure_portfolio(pool: asyncpg.Pool, guild_id: int, user_id: int) -> None:
    await pool.execute(
        "INSERT INTO stock_portfolios (guild_id, user_id, cash_balance) VALUES ($1, $2, $3) "
        "ON CONFLICT (guild_id, user_id) DO NOTHING", str(guild_id), str(user_id), STARTING_CASH)


async def buy(pool: asyncpg.Pool, guild_id: int, user_id: int, symbol: str, quantity: Decimal, price: Decimal
              ) -> Bought:
    total = four(quantity * price)
    g, u = str(guild_id), str(user_id)
    async with pool.acquire() as connection, connection.transaction():
        cash = await _lock_portfolio(connection, guild_id, user_id, create=True)
        assert cash is not None
        if cash < total:
            raise UserError(f"Insufficient funds. This trade costs **{dollars(total)}** but you have "
                            f"**{dollars(cash)}**.")
        cash_left = await connection.fetchval(
            "UPDATE stock_portfolios SET cash_balance = cash_balance - $3 "
            "WHERE guild_id = $1 AND user_id = $2 AND cash_balance >= $3 RETURNING cash_balance", g, u, total)
        if cash_left is None:  # cannot happen under the row lock; the guard keeps it so even without one
            raise UserError(f"Insufficient funds. This trade costs **{dollars(total)}**.")
        await connection.execute(
            "INSERT INTO stock_holdings (guild_id, user_id, symbol, quantity, avg_cost) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (guild_id, user_id, symbol) DO UPDATE SET "
            "avg_cost = (stock_holdings.avg_cost * stock_holdings.quantity + $5 * $4) "
            "/ (stock_holdings.quantity + $4), "
            "quantity = stock_holdings.quantity + $4",
            g, u, symbol, quantity, price)
        await connection.execute(
            "INSERT INTO stock_transactions (guild_id, user_id, symbol, action, quantity, price_per_share, "
            "total_amount) VALUES ($1, $2, $3, 'BUY', $4, $5, $6)", g, u, symbol, quantity, price, total)
    return Bought(quantity, price, total, cash_left)


async def sell(pool: asyncpg.Pool, guild_id: int, user_id: int, symbol: str, quantity: Decimal | None,
               price: Decimal) -> Sold:
    """Sell `quantity` shares (None: all of them)."""
    g, u = str(guild_id), str(user_id)
    async with pool.acquire() as connection, connection.transaction():
        cash = await _lock_portfolio(connection, guild_id, user_id, create=False)
        holding = None if cash is None else await connection.fetchrow(
            "SELECT quantity, avg_cost FROM stock_holdings WHERE guild_id = $1 AND user_id = $2 AND symbol = $3 "
            "AND quantity > 0 FOR UPDATE", g, u, symbol)
        if holding is None:
            raise UserError(f"You don't own any **{symbol}** shares.")
        held: Decimal = holding["quantity"]
        quantity = held if quantity is None else quantity
        if quantity > held:
            raise UserError(f"You only have **{shares(held)}** shares of **{symbol}**.")
        total = four(quantity * price)
        realised = four((price - holding["avg_cost"]) * quantity)
        if quantity == held:
            gone = await connection.execute(
                "DELETE FROM stock_holdings WHERE guild_id = $1 AND user_id = $2 AND symbol = $3 AND quantity = $4",
                g, u, symbol, quantity)
            changed = gone != "DELETE 0"
        else:
            changed = await connection.fetchval(
                "UPDATE stock_holdings SET quantity = quantity - $4 WHERE guild_id = $1 AND user_id = $2 "
                "AND symbol = $3 AND quantity >= $4 RETURNING true", g, u, symbol, quantity) is not None
        if not changed:  # cannot happen under the row locks; the guard keeps shares from going negative regardless
            raise UserError(f"You don't have enough **{symbol}** shares to sell.")
        new_cash = await connection.fetchval(
            "UPDATE stock_portfolios SET cash_balance = cash_balance + $3 WHERE guild_id = $1 AND user_id = $2 "
            "RETURNING cash_balance", g, u, total)
        await connection.execute(
            "INSERT INTO stock_transactions (guild_id, user_id, symbol, action, quantity, price_per_share, "
            "total_amount) VALUES ($1, $2, $3, 'SELL', $4, $5, $6)", g, u, symbol, quantity, price, total)
    return Sold(quantity, price, total, realised, new_cash)


async def held(pool: asyncpg.Pool, guild_id: int, user_id: int, symbol: str) -> Decimal | None:
    return await pool.fetchval(
        "SELECT quantity FROM stock_holdings WHERE guild_id = $1 AND user_id = $2 AND symbol = $3 AND quantity > 0",
        str(guild_id), str(user_id), symbol)


async def reset(pool: asyncpg.Pool, guild_id: int, user_id: int) -> None:
    g, u = str(guild_id), str(user_id)
    async with pool.acquire() as connection, connection.transaction():
        await _lock_portfolio(connection, guild_id, user_id, create=True)
        await connection.execute("DELETE FROM stock_holdings WHERE guild_id = $1 AND user_id = $2", g, u)
        await connection.execute("DELETE FROM stock_transactions WHERE guild_id = $1 AND user_id = $2", g, u)
        await connection.execute(
            "UPDATE stock_portfolios SET cash_balance = $3 WHERE guild_id = $1 AND user_id = $2", g, u, STARTING_CASH)


async def portfolio(pool: asyncpg.Pool, guild_id: int, user_id: int) -> Portfolio | None:
    """The member's portfolio, or None if they never played (reading creates nothing)."""
    g, u = str(guild_id), str(user_id)
    async with pool.acquire() as connection:
        cash = await connection.fetchval(
            "SELECT cash_balance FROM stock_portfolios WHERE guild_id = $1 AND user_id = $2", g, u)
        if cash is None:
            return None
        rows = await connection.fetch(
            "SELECT symbol, quantity, avg_cost FROM stock_holdings WHERE guild_id = $1 AND user_id = $2 "
            "AND quantity > 0 ORDER BY symbol", g, u)
    return Portfolio(user_id, cash, [Holding(r["symbol"], r["quantity"], r["avg_cost"]) for r in rows])


async def all_portfolios(pool: asyncpg.Pool, guild_id: int) -> list[Portfolio]:
    """Every portfolio of the guild with its holdings, in two queries."""
    g = str(guild_id)
    async with pool.acquire() as connection:
        owners = await connection.fetch(
            "SELECT user_id, cash_balance FROM stock_portfolios WHERE guild_id = $1", g)
        rows = await connection.fetch(
            "SELECT user_id, symbol, quantity, avg_cost FROM stock_holdings WHERE guild_id = $1 AND quantity > 0 "
            "ORDER BY symbol", g)
    holdings: dict[str, list[Holding]] = {}
    for row in rows:
        holdings.setdefault(row["user_id"], []).append(Holding(row["symbol"], row["quantity"], row["avg_cost"]))
    found = []
    for owner in owners:
        if owner["user_id"].isdigit():  # a hand-edited row that is no snowflake is skipped, not a crash
            found.append(Portfolio(int(owner["user_id"]), owner["cash_balance"], holdings.get(owner["user_id"], [])))
    return found


async def history(pool: asyncpg.Pool, guild_id: int, user_id: int, limit: int = 10) -> list[Trade]:
    rows = await pool.fetch(
        "SELECT symbol, action, quantity, price_per_share, total_amount, created_at FROM stock_transactions "
        "WHERE guild_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
        str(guild_id), str(user_id), limit)
    return [Trade(r["symbol"], r["action"], r["quantity"], r["price_per_share"], r["total_amount"], r["created_at"])
            for r in rows]


async def remember_price(pool: asyncpg.Pool, symbol: str, price: Decimal, prev_close: Decimal, change_pct: Decimal,
                         fetched_at: dt.datetime) -> None:
    """The original's display cache, kept current for a discord-bot-rs sharing this schema; a newer row wins."""
    await pool.execute(
        "INSERT INTO stock_price_cache (symbol, price, prev_close, change_pct, fetched_at) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, prev_close = EXCLUDED.prev_close, "
        "change_pct = EXCLUDED.change_pct, fetched_at = EXCLUDED.fetched_at "
        "WHERE stock_price_cache.fetched_at < EXCLUDED.fetched_at",
        symbol, float(price), float(prev_close), float(change_pct), fetched_at)
