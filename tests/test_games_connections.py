"""Connections end to end: word buttons pressed through emulator interactions, puzzles from the NYT stand-in,
idle expiry on a manual clock."""

from __future__ import annotations

from typing import Any

from supervisor.emulator.interactions import CHANNEL_MESSAGE, UPDATE_MESSAGE
from supervisor.emulator.models import Message
from supervisor.sandbox.nyt import NytStandIn
from tests.support import FeatureHarness, ManualClock

DAY = "2024-01-03"  # the stand-in's puzzle that day: TREES, CARD GAMES, PARTS OF A SHOE, ___FISH
TREES = ("OAK", "ELM", "ASH", "YEW")
CARDS = ("SNAP", "RUMMY", "POKER", "BRIDGE")
SHOE = ("SOLE", "HEEL", "TONGUE", "LACE")
FISH = ("STAR", "SWORD", "CAT", "JELLY")
PRIMARY = 1  # a selected word's button style (blurple); the others are grey


async def games_bot(harness_factory: Any, nyt: NytStandIn) -> tuple[FeatureHarness, ManualClock]:
    h = await harness_factory(config_extra='command_root = "m"\n', upstreams={"nyt_url": nyt.url})
    clock = ManualClock()
    h.bot.get_cog("Games").set_clock(clock)
    return h, clock


def rows(h: FeatureHarness, board: Message) -> list[list[dict[str, Any]]]:
    return [row["components"] for row in h.emu.current_message(board).components]


def words_on(h: FeatureHarness, board: Message) -> list[str]:
    return [b["label"] for row in rows(h, board) for b in row if b["custom_id"].startswith("game_word_")]


def embed(h: FeatureHarness, board: Message) -> dict[str, Any]:
    return h.emu.current_message(board).embeds[0]


async def pick(h: FeatureHarness, board: Message, who: Any, words: tuple[str, ...]) -> None:
    for word in words:
        pressed = await h.press(board, who, word)
        assert pressed.response_type == UPDATE_MESSAGE, pressed.ephemeral_replies


async def submit(h: FeatureHarness, board: Message, who: Any, words: tuple[str, ...]) -> str:
    await pick(h, board, who, words)
    pressed = await h.press(board, who, "Submit")
    assert pressed.response_type == UPDATE_MESSAGE
    return embed(h, board)["description"]


async def test_four_groups_found_win_and_the_buttons_go(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    board = await h.say_message(alice, f"!m connections date {DAY}")

    assert board.embeds[0]["title"] == f"Connections — {DAY}"
    assert board.embeds[0]["description"] == "Mistakes remaining: ⬛⬛⬛⬛"
    layout = rows(h, board)
    assert [len(row) for row in layout] == [4, 4, 4, 4, 3]
    assert sorted(words_on(h, board)) == sorted(TREES + CARDS + SHOE + FISH)
    assert [b["custom_id"] for row in layout[:4] for b in row] == [f"game_word_{i}" for i in range(16)]
    assert [(b["label"], b.get("disabled", False)) for b in layout[4]] == [
        ("Shuffle", False), ("Deselect", True), ("Submit", True)]

    await pick(h, board, alice, TREES[:3])
    selected = [b for row in rows(h, board) for b in row if b.get("style") == PRIMARY]
    assert sorted(b["label"] for b in selected) == sorted(TREES[:3])
    await pick(h, board, bob, TREES[3:])  # anyone in the channel plays
    assert [b.get("disabled", False) for b in rows(h, board)[-1]] == [False, False, False]

    await h.press(board, bob, "Submit")
    shown = embed(h, board)["description"]
    assert shown.startswith("🟨 **TREES**: OAK, ELM, ASH, YEW\n\nMistakes remaining: ⬛⬛⬛⬛")
    assert shown.endswith(f"\n\n🟨 **TREES** solved by <@{bob.id}>!")
    assert [len(row) for row in rows(h, board)] == [4, 4, 4, 3]
    assert not set(TREES) & set(words_on(h, board))

    await submit(h, board, alice, FISH)  # solved groups are listed in difficulty order, whatever the order found
    shown = await submit(h, board, alice, CARDS)
    assert shown.splitlines()[:3] == ["🟨 **TREES**: OAK, ELM, ASH, YEW",
                                      "🟩 **CARD GAMES**: SNAP, RUMMY, POKER, BRIDGE",
                                      "🟪 **___FISH**: STAR, SWORD, CAT, JELLY"]
    await submit(h, board, alice, SHOE)

    final = h.emu.current_message(board)
    assert final.components == []
    assert final.embeds[0]["title"] == f"Connections — {DAY} — Solved! 🎉"
    assert final.embeds[0]["color"] == 0x57F287
    assert final.embeds[0]["description"] == (
        "🟨 **TREES**: OAK, ELM, ASH, YEW\n🟩 **CARD GAMES**: SNAP, RUMMY, POKER, BRIDGE\n"
        "🟦 **PARTS OF A SHOE**: SOLE, HEEL, TONGUE, LACE\n🟪 **___FISH**: STAR, SWORD, CAT, JELLY\n\n0 mistakes")
    # Over: a new game may start at once.
    assert (await h.say_message(alice, "!m conn")).embeds[0]["title"].startswith("Connections — ")


async def test_four_mistakes_lose_and_reveal_every_group(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    board = await h.say_message(alice, f"!m conn d {DAY}")

    shown = await submit(h, board, bob, (*TREES[:3], CARDS[0]))
    assert shown == f"Mistakes remaining: ⬛⬛⬛✖️\n\n❌ One away! (guessed by <@{bob.id}>) — 3 mistakes remaining"
    assert not any(b.get("style") == PRIMARY for row in rows(h, board) for b in row)  # the selection is cleared
    shown = await submit(h, board, alice, (TREES[0], CARDS[0], SHOE[0], FISH[0]))
    assert shown == f"Mistakes remaining: ⬛⬛✖️✖️\n\n❌ Wrong! (guessed by <@{alice.id}>) — 2 mistakes remaining"
    await submit(h, board, alice, TREES)
    await submit(h, board, alice, (CARDS[0], CARDS[1], SHOE[0], SHOE[1]))
    assert embed(h, board)["description"].endswith("— 1 mistakes remaining")
    await submit(h, board, alice, (CARDS[0], CARDS[1], FISH[0], FISH[1]))

    final = h.emu.current_message(board)
    assert final.components == []
    assert final.embeds[0]["title"] == f"Connections — {DAY} — Game Over"
    assert final.embeds[0]["color"] == 0xED4245
    assert final.embeds[0]["description"] == (
        "🟨 **TREES**: OAK, ELM, ASH, YEW\n🟩 **CARD GAMES**: SNAP, RUMMY, POKER, BRIDGE\n"
        "🟦 **PARTS OF A SHOE**: SOLE, HEEL, TONGUE, LACE\n🟪 **___FISH**: STAR, SWORD, CAT, JELLY\n\n4 mistakes")


async def test_deselect_shuffle_and_a_fifth_word(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    board = await h.say_message(alice, f"!m connections date {DAY}")

    await pick(h, board, alice, (*CARDS, FISH[0]))  # at most four: the fifth press changes nothing
    selected = sorted(b["label"] for row in rows(h, board) for b in row if b.get("style") == PRIMARY)
    assert selected == sorted(CARDS)
    await pick(h, board, alice, (CARDS[0],))  # pressed again: unselected
    assert len([b for row in rows(h, board) for b in row if b.get("style") == PRIMARY]) == 3
    assert (await h.press(board, alice, "Deselect")).response_type == UPDATE_MESSAGE
    assert not any(b.get("style") == PRIMARY for row in rows(h, board) for b in row)
    assert [b.get("disabled", False) for b in rows(h, board)[-1]] == [False, True, True]

    before = words_on(h, board)
    assert (await h.press(board, alice, "Shuffle")).response_type == UPDATE_MESSAGE
    assert sorted(words_on(h, board)) == sorted(before)
    assert embed(h, board)["description"] == "Mistakes remaining: ⬛⬛⬛⬛"


async def test_expiry_and_no_game_are_refused_privately(harness_factory, nyt) -> None:
    h, clock = await games_bot(harness_factory, nyt)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    board = await h.say_message(alice, f"!m connections date {DAY}")
    await pick(h, board, alice, TREES[:1])

    assert await h.say(bob, "!m connections random") == (
        "A connections game is already active in this channel. Finish or wait for it to expire.")

    await clock.advance(30 * 60 + 1)
    pressed = await h.press(board, bob, TREES[1])
    assert pressed.response_type == CHANNEL_MESSAGE
    assert [(m.content, m.visible_to) for m in pressed.ephemeral_replies] == [
        ("Game expired due to inactivity. Start a new one with `!m connections`.", bob.id)]
    pressed = await h.press(board, alice, "Shuffle")
    assert [m.content for m in pressed.ephemeral_replies] == [
        "No active game in this channel. Start one with `!m connections`."]

    # A new game: presses on the old board are refused instead of playing the new one.
    fresh = await h.say_message(alice, f"!m connections date {DAY}")
    pressed = await h.press(board, alice, TREES[2])
    assert [m.content for m in pressed.ephemeral_replies] == [
        "This game is already over. Start a new one with `!m connections`."]
    assert embed(h, fresh)["description"] == "Mistakes remaining: ⬛⬛⬛⬛"
    assert not any(b.get("style") == PRIMARY for row in rows(h, fresh) for b in row)


async def test_bad_date_and_nyt_errors(harness_factory, nyt) -> None:
    h, _ = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    for typed in ("2023-06-11", "2023-02-30", "june"):
        assert await h.say(alice, f"!m connections date {typed}") == (
            f"No puzzle found for date **{typed}**. Make sure the date is valid (YYYY-MM-DD) and after 2023-06-12.")
    assert nyt.requests == []
    nyt.mode = "500"
    assert await h.say(alice, f"!m connections date {DAY}") == (
        f"No puzzle found for date **{DAY}**. Make sure the date is valid (YYYY-MM-DD) and after 2023-06-12.")
    nyt.mode = "ok"
    assert (await h.say_message(alice, f"!m connections date {DAY}")).embeds[0]["title"] == f"Connections — {DAY}"


async def test_a_live_edit_keeps_the_board_and_applies_the_new_expiry(harness_factory, nyt) -> None:
    h, clock = await games_bot(harness_factory, nyt)
    alice = h.add_member("alice")
    board = await h.say_message(alice, f"!m connections date {DAY}")
    await pick(h, board, alice, TREES[:2])

    config = (h.folder / "config.toml").read_text()
    outcome = await h.edit_config(config + "[games]\nidle_expiry = 600\n")
    assert "restart" not in outcome, outcome
    await pick(h, board, alice, TREES[2:])
    assert "solved by" in await submit(h, board, alice, ())
    await clock.advance(601)
    pressed = await h.press(board, alice, "Shuffle")
    assert [m.content for m in pressed.ephemeral_replies] == [
        "Game expired due to inactivity. Start a new one with `!m connections`."]
