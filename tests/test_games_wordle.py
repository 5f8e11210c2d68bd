"""Wordle end to end: the real runner in-process, discord.py over loopback to the emulator, puzzles from the NYT
stand-in; time moved by a manual clock instead of waiting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from supervisor.emulator.models import Message
from supervisor.sandbox.nyt import NytStandIn
from tests.support import FeatureHarness, ManualClock

CRANE_DAY = "2024-01-03"  # the stand-in's answer that day is CRANE
EMPTY_ROW = "⬜⬜⬜⬜⬜"
ACTIVE = "A wordle game is already active in this channel. Finish or wait for it to expire."


async def games_bot(harness_factory: Any, nyt: NytStandIn, extra: str = "") -> tuple[FeatureHarness, ManualClock]:
    h = await harness_factory(config_extra=f'command_root = "m"\n{extra}', upstreams={"nyt_url": nyt.url})
    clock = ManualClock()
    h.bot.get_cog("Games").set_clock(clock)
    return h, clock


def board_of(h: FeatureHarness, board: Message) -> dict[str, Any]:
    return h.emu.current_message(board).embeds[0]


async def guess(h: FeatureHarness, board: Message, who: Any, word: str) -> Message:
    """A valid guess: the member's message goes and the board shows the word."""
    before = board_of(h, board)["description"]
    sent = await h.send(who, word)
    await h.emu.wait_until(lambda: board_of(h, board)["description"] != before)
    await h.emu.wait_until(lambda: sent.id in h.emu.deleted_message_ids(h.channel))
    return sent


async def test_a_game_won_in_three_with_single_use_letters_and_the_keyboard(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice, bob = h.add_member("alice"), h.add_member("bob")

    board = await h.say_message(alice, f"!m wordle date {CRANE_DAY}")
    first = board.embeds[0]
    assert first["title"] == f"Wordle — {CRANE_DAY}"
    assert first["description"] == (EMPTY_ROW + "\n") * 6

    await guess(h, board, alice, "REACT")
    assert board_of(h, board)["description"].splitlines()[0] == "🟨🟨🟩🟨⬛  **REACT**"
    # EERIE against CRANE: the one E of the answer is green at the end, so the first two Es are grey.
    await guess(h, board, bob, " eerie ")
    shown = board_of(h, board)["description"]
    assert shown.splitlines()[:2] == ["🟨🟨🟩🟨⬛  **REACT**", "⬛⬛🟨⬛🟩  **EERIE**"]
    assert shown.count(EMPTY_ROW) == 4
    assert shown.endswith("\n🟩 A E  🟨 C R  ⬛ I T")  # E went from yellow to green; nothing ever goes down

    await guess(h, board, alice, "crane")
    won = board_of(h, board)
    assert won["title"] == f"Wordle — {CRANE_DAY} — Solved in 3! 🎉"
    assert won["description"].splitlines()[-1] == "🟩🟩🟩🟩🟩  **CRANE**"
    assert EMPTY_ROW not in won["description"]

    # The game is over: five letters are just chat again, and a new game may start.
    chat = await h.send(alice, "hello")
    again = await h.say_message(alice, "!m wordle random")
    assert again.embeds[0]["title"].startswith("Wordle — ")
    assert chat.id not in h.emu.deleted_message_ids(h.channel)


async def test_six_misses_lose_and_reveal_the_answer(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    board = await h.say_message(alice, f"!m w d {CRANE_DAY}")
    for word in ("spine", "tulip", "wheat", "lemon", "geese", "react"):
        await guess(h, board, alice, word)
    lost = board_of(h, board)
    assert lost["title"] == f"Wordle — {CRANE_DAY} — Game Over"
    assert lost["description"].endswith("\nThe answer was **CRANE**")
    assert len(lost["description"].splitlines()) == 8  # six guesses, a blank line, the answer
    assert lost["color"] == 0xED4245
    assert (await h.say_message(alice, "!m wordle")).embeds[0]["title"].startswith("Wordle — ")


async def test_not_a_word_is_answered_then_deleted_after_two_seconds(harness_factory, nyt) -> None:
    h, clock = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    board = await h.say_message(alice, f"!m wordle date {CRANE_DAY}")

    sent = await h.send(alice, "zzxqj")
    reply = await h.reply_to(sent)
    assert reply.content == "Not a valid word."
    await h.emu.wait_until(lambda: clock.sleepers == 1)
    await clock.advance(1.9)
    assert reply.id not in h.emu.deleted_message_ids(h.channel)
    await clock.advance(0.2)
    await h.emu.wait_until(lambda: reply.id in h.emu.deleted_message_ids(h.channel))
    assert sent.id not in h.emu.deleted_message_ids(h.channel)  # the member's own message stays, as the original
    assert board_of(h, board)["description"] == (EMPTY_ROW + "\n") * 6  # no guess used


async def test_a_six_letter_guess_is_not_a_guess(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    board = await h.say_message(alice, f"!m wordle date {CRANE_DAY}")

    six = await h.send(alice, "cranes")
    probe = await h.send(alice, "qqqqq")
    answer = await h.emu.wait_for_bot_message(bot=h.bot_user)
    assert answer.reference_id == probe.id and answer.content == "Not a valid word."  # nothing for `cranes`
    assert six.id not in h.emu.deleted_message_ids(h.channel)
    assert board_of(h, board)["description"] == (EMPTY_ROW + "\n") * 6


async def test_one_game_per_channel_until_it_expires(harness_factory, nyt) -> None:
    h, clock = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    board = await h.say_message(alice, f"!m wordle date {CRANE_DAY}")
    await guess(h, board, alice, "react")

    assert await h.say(alice, "!m wordle") == ACTIVE
    assert await h.say(alice, "!m wordle random") == ACTIVE
    other = h.emu.create_channel(h.guild, "other")
    assert (await h.say_message(alice, "!m wordle", channel=other)).embeds[0]["title"].startswith("Wordle — ")

    # 30 minutes without a guess: the game is gone; a guess is plain chat, and a new game may start.
    await clock.advance(29 * 60)
    await guess(h, board, alice, "eerie")  # a guess restarts the 30 minutes
    await clock.advance(30 * 60 + 1)
    late = await h.send(alice, "crane")
    fresh = await h.say_message(alice, f"!m wordle date {CRANE_DAY}")
    assert fresh.embeds[0]["description"] == (EMPTY_ROW + "\n") * 6
    assert late.id not in h.emu.deleted_message_ids(h.channel)
    assert "CRANE" not in board_of(h, board)["description"]


async def test_bad_dates_are_refused_without_asking_the_nyt(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    for typed in ("2021-13-45", "2021-06-18", "yesterday", "2999-01-01"):
        assert await h.say(alice, f"!m wordle date {typed}") == (
            f"No Wordle found for date **{typed}**. Use YYYY-MM-DD format, after 2021-06-19.")
    assert nyt.requests == []
    assert await h.say(alice, "!m wordle date") == "Usage: `!m wordle date <YYYY-MM-DD>`"
    assert await h.say(alice, "!m wordle tomorrow") == (
        "Unknown wordle command. Try `!m wordle`, `!m wordle random` or `!m wordle date YYYY-MM-DD`.")


async def test_nyt_errors_get_the_original_replies(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt, "[games]\nrequest_timeout = 0.5\n")
    alice = h.add_member("alice")
    for mode in ("500", "garbage"):
        nyt.mode = mode
        assert await h.say(alice, f"!m wordle date {CRANE_DAY}") == (
            f"No Wordle found for date **{CRANE_DAY}**. Use YYYY-MM-DD format, after 2021-06-19.")
    nyt.mode = "timeout"
    assert await h.say(alice, f"!m wordle date {CRANE_DAY}") == (
        "Failed to fetch Wordle: the NYT did not answer. Try again later.")
    nyt.mode = "ok"  # the failures left no game behind
    assert (await h.say_message(alice, f"!m wordle date {CRANE_DAY}")).embeds[0]["title"] == f"Wordle — {CRANE_DAY}"
    assert nyt.requests[-1] == f"/svc/wordle/v2/{CRANE_DAY}.json"


async def test_today_and_random_ask_for_those_days(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (await h.say_message(alice, "!m w")).embeds[0]["title"] == f"Wordle — {today}"
    other = h.emu.create_channel(h.guild, "other")
    title = (await h.say_message(alice, "!m wordle r", channel=other)).embeds[0]["title"]
    day = dt.date.fromisoformat(title.removeprefix("Wordle — "))
    assert dt.date(2021, 6, 19) <= day <= dt.date.fromisoformat(today)


async def test_abandoned_games_are_forgotten_by_the_sweep(harness_factory, nyt) -> None:
    h, clock = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    await h.say_message(alice, f"!m wordle date {CRANE_DAY}")
    await h.say_message(alice, "!m connections date 2024-01-03")
    cog = h.bot.get_cog("Games")
    await h.emu.wait_until(lambda: (len(cog.starter.wordle), len(cog.starter.connections)) == (1, 1))

    await clock.advance(30 * 60 + 1)
    cog._sweep.wake()  # its next round now, instead of in five minutes
    entry = await h.wait_log(lambda e: e.get("event") == "games_expired")
    assert entry["count"] == 2 and entry["feature"] == "games"
    assert (len(cog.starter.wordle), len(cog.starter.connections)) == (0, 0)
