"""The Wordle board as the original drew it: a grid of squares, the guesses in bold, and the keyboard tracker."""

from __future__ import annotations

import string

import discord

from .wordle import MAX_GUESSES, Mark, WordleGame

WORDLE_GREEN = 0x538D4E
LOST_RED = 0xED4245


def _rows(game: WordleGame) -> str:
    return "".join(f"{''.join(m.emoji for m in marks)}  **{word.upper()}**\n" for word, marks in game.guesses)


def _keyboard(game: WordleGame) -> str:
    best = game.keyboard()
    parts = []
    for mark in (Mark.CORRECT, Mark.PRESENT, Mark.ABSENT):
        letters = [c.upper() for c in string.ascii_lowercase if best.get(c) is mark]
        if letters:
            parts.append(f"{mark.emoji} {' '.join(letters)}")
    return "  ".join(parts)


def board(game: WordleGame) -> discord.Embed:
    description = _rows(game) + "⬜⬜⬜⬜⬜\n" * (MAX_GUESSES - len(game.guesses))
    keyboard = _keyboard(game)
    if keyboard:
        description += f"\n{keyboard}"
    return discord.Embed(title=f"Wordle — {game.date}", description=description, colour=WORDLE_GREEN)


def finished(game: WordleGame) -> discord.Embed:
    description = _rows(game)
    if game.won:
        title, colour = f"Wordle — {game.date} — Solved in {len(game.guesses)}! 🎉", WORDLE_GREEN
    else:
        title, colour = f"Wordle — {game.date} — Game Over", LOST_RED
        description += f"\nThe answer was **{game.solution.upper()}**"
    return discord.Embed(title=title, description=description, colour=colour)
