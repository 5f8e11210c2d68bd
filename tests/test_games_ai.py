"""AI chat starts games through the games feature's tools (wordle_start, connections_start), offered only when
both features are on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest_asyncio

from tests.support import Answer, FeatureHarness, Recorded, StandIn, text

KEY = "sk-test-games"


@pytest_asyncio.fixture
async def model() -> Any:
    server = await StandIn().start()
    yield server
    await server.stop()


def config(model: StandIn, features: str = "") -> str:
    return (f'command_root = "m"\n[features]\n{features}[ai.providers.local]\nurl = "{model.url}"\n'
            'model = "local-model"\napi_key_env = "LOCAL_KEY"\nmax_tokens = 4096\n[ai.routing]\nchat = "local"\n')


def plays(r: Recorded) -> Answer:
    said = r.last_user_text
    if "wordle" in said:
        return Answer("Let's play!", [("wordle_start", {"mode": "today"})])
    if "connections" in said:
        return Answer("Here you go.", [("connections_start", {"mode": "random"})])
    return text("ok")


async def test_the_model_starts_each_game_once_per_channel(harness_factory: Any, model: StandIn, nyt: Any) -> None:
    model.reply = plays
    h: FeatureHarness = await harness_factory(config_extra=config(model), env={"LOCAL_KEY": KEY},
                                              upstreams={"nyt_url": nyt.url})
    alice = h.add_member("alice")
    today = dt.datetime.now(dt.UTC).date().isoformat()

    sent = await h.send(alice, f"<@{h.bot_user.id}> let's play wordle")
    assert (await h.reply_to(sent, timeout=30)).content == "Let's play!"
    board = await h.emu.wait_for_bot_message(lambda m: bool(m.embeds), bot=h.bot_user, timeout=30)
    assert board.embeds[0]["title"] == f"Wordle — {today}" and board.components == []
    offered = {t["function"]["name"] for t in model.answered()[0].body["tools"]}
    assert {"wordle_start", "connections_start"} <= offered
    assert "## Games" in model.answered()[0].system

    again = await h.send(alice, f"<@{h.bot_user.id}> another wordle please")
    assert (await h.reply_to(again, timeout=30)).content == "Let's play!"
    assert (await h.reply_to(again, timeout=30)).content == (
        "A wordle game is already active in this channel. Finish or wait for it to expire.")

    sent = await h.send(alice, f"<@{h.bot_user.id}> connections time")
    await h.reply_to(sent, timeout=30)
    puzzle = await h.emu.wait_for_bot_message(lambda m: bool(m.embeds), bot=h.bot_user, timeout=30)
    assert puzzle.embeds[0]["title"].startswith("Connections — ")
    assert len([b for row in puzzle.components for b in row["components"]]) == 19
    # The board the model started plays like any other.
    assert (await h.press(puzzle, alice, "Shuffle")).response_type == 7


async def test_no_game_tools_when_games_are_off(harness_factory: Any, model: StandIn) -> None:
    model.reply = lambda r: text("ok")
    h: FeatureHarness = await harness_factory(config_extra=config(model, "games = false\n"),
                                              env={"LOCAL_KEY": KEY})
    sent = await h.send(h.add_member("bob"), f"<@{h.bot_user.id}> hi")
    assert (await h.reply_to(sent, timeout=30)).content == "ok"
    offered = {t["function"]["name"] for t in model.answered()[-1].body["tools"]}
    assert not offered & {"wordle_start", "connections_start"}
    assert "## Games" not in model.answered()[-1].system
