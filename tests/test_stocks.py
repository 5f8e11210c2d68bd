"""The stock game end to end: the real runner in-process, the emulator as Discord, a local Finnhub stand-in that
counts requests, and rows in a real Postgres. Money is checked to 4 decimals against hand-computed values."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from supervisor.emulator import User
from tests.support import FeatureHarness, FinnhubStandIn, eventually, message_text, postgres

KEY = "test-finnhub-key"
FAST = "[stocks]\nquote_ttl = 1\ntrade_quote_max_age = 1\n"


async def stock_bot(harness_factory: Any, finnhub: FinnhubStandIn, settings: str = "", *,
                    key: str | None = KEY, name: str = "bot") -> FeatureHarness:
    return await harness_factory(name=name, config_extra="[features]\nstocks = true\n" + settings,
                                 env={"FINNHUB_API_KEY": key} if key else {},
                                 upstreams={"finnhub_url": finnhub.url})


def fields(message: Any) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


async def cash(h: FeatureHarness, member: User) -> Decimal | None:
    rows = await h.fetch("SELECT cash_balance FROM stock_portfolios WHERE guild_id = $1 AND user_id = $2",
                         str(h.guild.id), str(member.id))
    return rows[0]["cash_balance"] if rows else None


async def holdings(h: FeatureHarness, member: User) -> dict[str, tuple[Decimal, Decimal]]:
    rows = await h.fetch("SELECT symbol, quantity, avg_cost FROM stock_holdings WHERE guild_id = $1 AND user_id = $2",
                         str(h.guild.id), str(member.id))
    return {r["symbol"]: (r["quantity"], r["avg_cost"]) for r in rows}


async def row_counts(h: FeatureHarness) -> dict[str, int]:
    counts = {}
    for table in ("stock_portfolios", "stock_holdings", "stock_transactions", "stock_price_cache"):
        counts[table] = (await h.fetch(f"SELECT count(*) AS n FROM {table}"))[0]["n"]
    return counts


NOTHING = {"stock_portfolios": 0, "stock_holdings": 0, "stock_transactions": 0, "stock_price_cache": 0}


# -- playing -----------------------------------------------------------------------------------------
async def test_buy_by_shares_and_dollars_sell_part_and_all_history_exact(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub, FAST)
    alice = h.add_member("alice")

    bought = await h.say_message(alice, "!stock buy aapl 2")
    assert message_text(bought) == "Stock Purchased\nBought **2** shares of **AAPL** at $187.50"
    assert fields(bought) == {"Total Cost": "$375.00", "Cash Remaining": "$625.00"}
    assert await cash(h, alice) == Decimal("625.0000")

    # $100 at $187.50 buys 0.5333 shares (rounded down to 4 places) for $99.99375 -> 99.9938.
    bought = await h.say_message(alice, "!st b AAPL $100")
    assert "Bought **0.5333** shares of **AAPL**" in message_text(bought)
    assert await cash(h, alice) == Decimal("525.0062")
    assert await holdings(h, alice) == {"AAPL": (Decimal("2.5333"), Decimal("187.5000"))}

    finnhub.prices["AAPL"] = "200"
    await h.advance(1.1)  # older than trade_quote_max_age = 1: the sale must ask for a fresh price
    sold = await h.say_message(alice, "!stocks sell AAPL 1")
    assert message_text(sold) == "Stock Sold\nSold **1** shares of **AAPL** at $200.00"
    assert fields(sold) == {"Total Sale": "$200.00", "Realized P/L": "+$12.50", "Cash Balance": "$725.01"}
    assert await cash(h, alice) == Decimal("725.0062")
    assert await holdings(h, alice) == {"AAPL": (Decimal("1.5333"), Decimal("187.5000"))}

    # All 1.5333 at $200 = 306.66; realised 12.5 x 1.5333 = 19.16625 -> 19.1663.
    sold = await h.say_message(alice, "!stock s AAPL all")
    assert fields(sold)["Realized P/L"] == "+$19.17"
    assert await cash(h, alice) == Decimal("1031.6662")
    assert await holdings(h, alice) == {}  # a holding that reaches zero is deleted

    history = await h.say(alice, "!stock history")
    lines = history.splitlines()
    assert lines[0] == "Trade History — alice"
    assert [line.split(" ")[1] for line in lines[1:]] == ["**SELL**", "**SELL**", "**BUY**", "**BUY**"]
    assert lines[1].startswith("🔴 **SELL** 1.5333 AAPL @ $200.00 ($306.66) — <t:")
    assert lines[4].startswith("🟢 **BUY** 2 AAPL @ $187.50 ($375.00) — <t:")
    rows = await h.fetch("SELECT action, quantity, price_per_share, total_amount FROM stock_transactions ORDER BY id")
    assert [(r["action"], r["quantity"], r["total_amount"]) for r in rows] == [
        ("BUY", Decimal("2.0000"), Decimal("375.0000")), ("BUY", Decimal("0.5333"), Decimal("99.9938")),
        ("SELL", Decimal("1.0000"), Decimal("200.0000")), ("SELL", Decimal("1.5333"), Decimal("306.6600")),
    ]

    portfolio = await h.say_message(alice, "!stock")
    assert message_text(portfolio) == "Portfolio — alice\nCash: **$1,031.67**"
    assert fields(portfolio) == {"Holdings": "No stocks held.", "Total Value": "$1,031.67",
                                 "Total P/L": "+$31.67 (+3.17%)"}


async def test_leaderboard_orders_by_total_value_and_asks_each_symbol_once(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub, FAST)
    winner, loser, idle = h.add_member("winner"), h.add_member("loser"), h.add_member("idle")
    await h.say(winner, "!stock buy NVDA 1")  # 880.08
    await h.say(loser, "!stock buy TSLA 2")  # 2 x 251.10 = 502.20
    await h.say(loser, "!stock buy NVDA 0.5")  # 440.04
    await h.say(idle, "!stock")  # opens a portfolio: $1,000 cash
    finnhub.prices.update({"NVDA": "1000", "TSLA": "100"})
    await h.advance(1.1)  # the display cache (quote_ttl = 1) is out of date now
    before = finnhub.calls()
    board = await h.say(idle, "!stock lb")
    # winner: 119.92 + 1000 = 1119.92; idle: 1000; loser: 57.76 + 200 + 500 = 757.76
    assert board.splitlines() == [
        "Stock Leaderboard",
        f"🥇 **#1** <@{winner.id}> — $1,119.92 (+$119.92)",
        f"🥈 **#2** <@{idle.id}> — $1,000.00 (+$0.00)",
        f"🥉 **#3** <@{loser.id}> — $757.76 (-$242.24)",
    ]
    assert finnhub.calls() - before == 2  # NVDA and TSLA once each, though NVDA is held twice


async def test_portfolio_of_another_member_is_read_only_and_shows_prices(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    assert await h.say(alice, f"!stock portfolio <@{bob.id}>") == "**bob** has not played the stock game yet."
    assert await cash(h, bob) is None  # looking created no row for bob (the original did)
    await h.say(bob, "!stock buy MSFT 2")
    shown = await h.say_message(alice, "!stock p bob")
    assert message_text(shown) == "Portfolio — bob\nCash: **$195.50**"
    assert fields(shown)["Holdings"] == "📈 **MSFT**: 2 shares @ $402.25 = $804.50 (+0.00%)"
    assert await cash(h, alice) is None


async def test_reset_button_only_for_the_requester_then_gone(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    await h.say(alice, "!stock buy AAPL 2")
    await h.say(alice, "!stock sell AAPL 0.5")
    before = (await cash(h, alice), await holdings(h, alice))
    assert before == (Decimal("718.7500"), {"AAPL": (Decimal("1.5000"), Decimal("187.5000"))})

    question = await h.say_message(alice, "!stock reset")
    assert message_text(question).startswith("Reset Portfolio?")
    refused = await h.emu.press_button(question, bob, "Reset")
    assert [m.content for m in refused.ephemeral_replies] == ["Only the member who asked for this reset can answer it."]
    assert refused.ephemeral_replies[0].visible_to == bob.id
    assert (await cash(h, alice), await holdings(h, alice)) == before  # nothing was reset

    await h.emu.press_button(question, alice, "Reset")
    await h.emu.wait_until(lambda: message_text(h.emu.current_message(question)).startswith("Portfolio Reset"))
    answered = h.emu.current_message(question)
    assert message_text(answered) == ("Portfolio Reset\nPortfolio reset to **$1,000.00**. All holdings and history "
                                      "cleared.")
    assert answered.components == []  # the buttons are gone after one press
    assert await cash(h, alice) == Decimal("1000.0000")
    assert await holdings(h, alice) == {}
    assert await h.fetch("SELECT * FROM stock_transactions") == []

    await h.say(alice, "!stock buy AAPL 1")
    question = await h.say_message(alice, "!stock reset")
    await h.emu.press_button(question, alice, "Cancel")
    await h.emu.wait_until(lambda: message_text(h.emu.current_message(question)).startswith("Reset Cancelled"))
    assert await cash(h, alice) == Decimal("812.5000")


# -- races through the database layer ----------------------------------------------------------------
async def race_pool(h: FeatureHarness) -> asyncpg.Pool:
    # Ten connections race as well as twenty-five, and take less of a test server other runs share; a full server
    # ("too many clients") is waited for, never the test's failure.
    pool = await asyncpg.create_pool(h.database_url, min_size=2, max_size=10, connect=postgres.connect,
                                     server_settings={"search_path": h.schema})
    assert pool is not None
    return pool


async def test_fifty_concurrent_buys_never_spend_more_than_the_cash(harness_factory, finnhub) -> None:
    from features.stocks import queries

    h = await stock_bot(harness_factory, finnhub)
    alice = h.add_member("alice")
    pool = await race_pool(h)
    try:
        # 50 buys of 1 share at $187.50 want $9,375; $1,000 covers 5 of them.
        results = await asyncio.gather(*(queries.buy(pool, h.guild.id, alice.id, "AAPL", Decimal(1),
                                                     Decimal("187.5")) for _ in range(50)), return_exceptions=True)
    finally:
        await pool.close()
    refused = [r for r in results if isinstance(r, Exception)]
    assert all("Insufficient funds" in str(r) for r in refused), refused
    assert len(results) - len(refused) == 5
    assert await cash(h, alice) == Decimal("62.5000")
    assert await holdings(h, alice) == {"AAPL": (Decimal("5.0000"), Decimal("187.5000"))}
    spent = await h.fetch("SELECT sum(total_amount) AS s FROM stock_transactions WHERE action = 'BUY'")
    assert spent[0]["s"] == Decimal("937.5000")


async def test_concurrent_sells_and_resets_never_mint_money(harness_factory, finnhub) -> None:
    from features.stocks import queries

    h = await stock_bot(harness_factory, finnhub)
    alice = h.add_member("alice")
    g, u = h.guild.id, alice.id
    pool = await race_pool(h)
    try:
        for _ in range(10):
            await queries.reset(pool, g, u)
            await queries.buy(pool, g, u, "AAPL", Decimal(4), Decimal(100))  # cash 600, 4 shares
            # Four sales of 2 (only two can succeed), a sale of all, and a reset, all at once at $150.
            work = [queries.sell(pool, g, u, "AAPL", Decimal(2), Decimal(150)) for _ in range(4)]
            work += [queries.sell(pool, g, u, "AAPL", None, Decimal(150)), queries.reset(pool, g, u)]
            results = await asyncio.gather(*work, return_exceptions=True)
            sales = [r for r in results[:5] if isinstance(r, queries.Sold)]
            assert sum(sale.quantity for sale in sales) <= 4  # never more shares sold than held
            assert all("shares" in str(r) for r in results[:5] if isinstance(r, Exception)), results
            # Sales before the reset are wiped by it, sales after it find nothing: exactly the starting cash.
            assert await cash(h, alice) == Decimal("1000.0000")
            assert await holdings(h, alice) == {}
    finally:
        await pool.close()


async def test_two_members_trading_at_once_keep_their_own_rows(harness_factory, finnhub) -> None:
    from features.stocks import queries

    h = await stock_bot(harness_factory, finnhub)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    pool = await race_pool(h)
    try:
        work = []
        for _ in range(10):
            work.append(queries.buy(pool, h.guild.id, alice.id, "AAPL", Decimal("0.5"), Decimal(100)))
            work.append(queries.buy(pool, h.guild.id, bob.id, "MSFT", Decimal("0.25"), Decimal(200)))
        await asyncio.gather(*work)
        await asyncio.gather(queries.sell(pool, h.guild.id, alice.id, "AAPL", Decimal(1), Decimal(100)),
                             queries.sell(pool, h.guild.id, bob.id, "MSFT", None, Decimal(200)))
    finally:
        await pool.close()
    assert await cash(h, alice) == Decimal("600.0000")  # 10 x 50 spent, 100 back
    assert await holdings(h, alice) == {"AAPL": (Decimal("4.0000"), Decimal("100.0000"))}
    assert await cash(h, bob) == Decimal("1000.0000")
    assert await holdings(h, bob) == {}


# -- the shared quote service ------------------------------------------------------------------------
async def test_twenty_members_asking_one_price_at_once_make_one_upstream_request(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub)
    members = [h.add_member(f"m{i}") for i in range(20)]
    finnhub.hold()
    sent = [await h.send(member, "!stock price AAPL") for member in members]
    service = None

    def everyone_waits() -> bool:
        nonlocal service
        service = h.shared.peek("stocks.quotes")
        return finnhub.calls() == 1 and service is not None and service.joined == 19

    await eventually(everyone_waits, timeout=30)
    finnhub.release()
    replies = await asyncio.gather(*(h.reply_to(message, timeout=15) for message in sent))
    assert {message_text(reply) for reply in replies} == {"AAPL Stock Price\n**$187.50**"}
    assert finnhub.calls() == 1
    assert finnhub.requests[0].token == KEY


async def test_two_bots_share_one_cache(harness_factory, finnhub) -> None:
    first = await stock_bot(harness_factory, finnhub, name="one")
    second = await stock_bot(harness_factory, finnhub, name="two", key="another-key")
    a, b = first.add_member("a"), second.add_member("b")
    assert (await first.say(a, "!stock price MSFT")).endswith("**$402.25**")
    assert (await second.say(b, "!stock price MSFT")).endswith("**$402.25**")
    assert finnhub.calls("MSFT") == 1
    # /metrics' quote_cache_hits: the second bot's answer came from the cache, and it counts as that bot's.
    assert first.runner.counters.extra["quote_cache_hits"] == 0
    assert second.runner.counters.extra["quote_cache_hits"] == 1
    # Each instance's schema keeps the original's display cache for a discord-bot-rs sharing it.
    for h in (first, second):
        rows = await h.fetch("SELECT symbol, price FROM stock_price_cache")
        assert [(r["symbol"], r["price"]) for r in rows] == [("MSFT", 402.25)]


@pytest.mark.parametrize(("mode", "reply"), [
    ("500", "The price service (Finnhub) answered with an error (HTTP 500); try again in a moment."),
    ("429", "The price service (Finnhub) is rate-limiting this bot's API key; try again in a minute."),
    ("timeout", "The price service (Finnhub) did not answer in time; try again in a moment."),
    ("garbage", "The price service (Finnhub) sent an answer I can't read; try again later."),
])
async def test_finnhub_failures_get_a_specific_reply_and_write_nothing(harness_factory, finnhub, mode, reply
                                                                     ) -> None:
    h = await stock_bot(harness_factory, finnhub, "[stocks]\nrequest_timeout = 1\n")
    alice = h.add_member("alice")
    finnhub.mode = mode
    assert await h.say(alice, "!stock price AAPL") == reply
    assert await h.say(alice, "!stock buy MSFT 1") == reply + " Nothing was traded."
    assert await row_counts(h) == NOTHING


async def test_unknown_symbol_is_named_and_asked_once(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub)
    alice = h.add_member("alice")
    unknown = ("Could not find stock symbol **ZZZZ**. Make sure you're using a valid US stock ticker "
               "(e.g., AAPL, TSLA, MSFT).")
    assert await h.say(alice, "!stock price zzzz") == unknown
    assert await h.say(alice, "!stock buy ZZZZ 1") == unknown + " Nothing was traded."
    assert finnhub.calls("ZZZZ") == 1
    assert await row_counts(h) == NOTHING


async def test_a_failing_finnhub_shows_a_stale_price_and_trades_refuse_it(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub, FAST)
    alice = h.add_member("alice")
    assert (await h.say(alice, "!stock price AAPL")).endswith("**$187.50**")
    finnhub.mode = "500"
    await h.advance(1.1)
    stale = await h.say(alice, "!stock price AAPL")
    assert stale.startswith("AAPL Stock Price\n**$187.50**\n⚠️ Stale: Finnhub is not answering")
    refused = await h.say(alice, "!stock buy AAPL 1")
    assert refused.endswith("Nothing was traded.") and "HTTP 500" in refused
    assert await cash(h, alice) is None


async def test_an_empty_budget_says_prices_are_busy(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub, "[stocks]\ncalls_per_minute = 1\nbusy_wait = 0\n")
    alice = h.add_member("alice")
    assert (await h.say(alice, "!stock price AAPL")).endswith("**$187.50**")
    busy = await h.say(alice, "!stock price MSFT")
    assert re.fullmatch(r"Prices are busy right now \(this bot's Finnhub budget is used up for the moment\); "
                        r"try again in [1-6]?\ds\.", busy), busy
    assert finnhub.calls() == 1


# -- refusals ----------------------------------------------------------------------------------------
INVALID = "Invalid quantity. Use a number or `$amount`."
NOT_A_SYMBOL = "That is not a stock symbol: use a ticker of letters and digits such as AAPL, MSFT or BRK.B."


@pytest.mark.parametrize(("command", "reply"), [
    ("!stock buy AAPL -1", "Quantity must be positive."),
    ("!stock buy AAPL 0", "Quantity must be positive."),
    ("!stock buy AAPL $0", "Amount must be positive."),
    ("!stock buy AAPL $abc", "Invalid dollar amount."),
    ("!stock buy AAPL 1e9", INVALID),
    ("!stock buy AAPL NaN", INVALID),
    ("!stock buy AAPL inf", INVALID),
    ("!stock buy AAPL １０", INVALID),  # full-width digits
    ("!stock buy AAPL $１０", "Invalid dollar amount."),
    ("!stock sell AAPL ٣", INVALID),  # Arabic-Indic three
    ("!stock buy AAPL 10000000000", "That is more shares than one trade may move (at most 1,000,000,000)."),
    ("!stock sell AAPL 0.00001", "The smallest trade is 0.0001 shares."),
    ("!stock sell AAPL 1", "You don't own any **AAPL** shares."),
    ("!stock buy AA PL 1", INVALID),
    ('!stock buy "AA PL" 1', NOT_A_SYMBOL),
    ("!stock price 📈", NOT_A_SYMBOL),
    ("!stock price " + "A" * 200, NOT_A_SYMBOL),
    ("!stock price AA PL", NOT_A_SYMBOL),
    ("!stock buy AAPL", "Usage: `!stock buy <symbol> <shares|$dollars>`"),
    ("!stock frobnicate", "Unknown stock command `frobnicate`. Try `!stock` with one of: buy, sell, portfolio, "
                          "price, leaderboard, history, reset."),
])
async def test_bad_input_gets_a_specific_reply_and_writes_nothing(harness_factory, finnhub, command, reply) -> None:
    h = await stock_bot(harness_factory, finnhub)
    alice = h.add_member("alice")
    assert await h.say(alice, command) == reply
    assert await row_counts(h) == NOTHING
    assert finnhub.calls() == 0


async def test_without_a_key_trading_is_not_configured_and_nothing_is_written(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub, key=None)
    alice = h.add_member("alice")
    for command in ("!stock", "!stock buy AAPL 1", "!stock price AAPL"):
        reply = await h.say(alice, command)
        assert reply.startswith("Stock trading is not configured on this bot") and "FINNHUB_API_KEY" in reply
    assert await row_counts(h) == NOTHING
    assert finnhub.calls() == 0
    assert any("FINNHUB_API_KEY" in str(w) for w in h.status().get("warnings", {}).values()), h.status()


async def test_a_member_may_run_ten_stock_commands_per_30_seconds(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    for _ in range(10):
        assert (await h.say(alice, "!stock price AAPL")).startswith("AAPL Stock Price")
    slow = await h.say(alice, "!stock price AAPL")
    assert slow.startswith("Slow down — try again in ") and slow.endswith("s.")
    assert (await h.say(bob, "!stock price AAPL")).startswith("AAPL Stock Price")


# -- for other features ------------------------------------------------------------------------------
async def test_stock_tools_for_ai_chat_trade_and_refuse_in_plain_text(harness_factory, finnhub) -> None:
    h = await stock_bot(harness_factory, finnhub)
    alice = h.add_member("alice")
    tools = h.ctx.services["stocks.tools"]
    g, u = h.guild.id, alice.id
    assert await tools.price("aapl") == "AAPL: $187.50, change +$0.00 (+0.00%), previous close $187.50"
    assert await tools.buy(g, u, "AAPL", dollars=100) == (
        "Bought 0.5333 shares of AAPL at $187.50 for $99.99; cash remaining $900.01.")
    assert await tools.buy(g, u, "AAPL", shares=100) == (
        "Insufficient funds. This trade costs **$18,750.00** but you have **$900.01**.")
    assert await tools.buy(g, u, "AAPL") == "Please specify a quantity or dollar amount (one of them)."
    assert (await tools.portfolio(g, u)).startswith("Cash $900.01; total value $1,000.00")
    assert await tools.sell(g, u, "AAPL") == (
        "Sold 0.5333 shares of AAPL at $187.50 for $99.99; realized P/L +$0.00; cash $1,000.00.")
    assert await cash(h, alice) == Decimal("1000.0000")
    assert (await tools.leaderboard(g)).startswith(f"#1 <@{u}>: $1,000.00")


def test_finnhub_url_comes_from_the_flag_else_the_environment(monkeypatch) -> None:
    from supervisor.cli import build_parser
    from supervisor.settings import SupervisorSettings

    monkeypatch.setenv("FINNHUB_BASE_URL", "http://from-env:1")
    assert SupervisorSettings.from_sources().upstreams() == {"finnhub_url": "http://from-env:1"}
    for command in ("run", "sandbox"):
        args = build_parser().parse_args([command, "--finnhub-url", "http://from-flag:2"])
        settings = SupervisorSettings.from_sources(finnhub_url=args.finnhub_url)
        assert settings.upstreams() == {"finnhub_url": "http://from-flag:2"}
    monkeypatch.delenv("FINNHUB_BASE_URL")
    assert SupervisorSettings.from_sources().upstreams() == {}
