"""The Connections board: solved groups on top, the mistakes row, the last guess; 16 word buttons and 3 controls.

The buttons are drawn by a View that is stopped before it is sent, so discord.py keeps no copy of it: presses reach
the cog's `on_interaction` listener, which finds the game by channel (as the original did), restarts included.
"""

from __future__ import annotations

import discord

from .connections import EMOJI, MAX_MISTAKES, ConnectionsGame

BLURPLE = 0x5865F2
WON_GREEN = 0x57F287
LOST_RED = 0xED4245

WORD_PREFIX = "game_word_"
SHUFFLE = "game_shuffle"
DESELECT = "game_deselect"
SUBMIT = "game_submit"


def _group(category_index: int, title: str, words: tuple[str, ...]) -> str:
    emoji = EMOJI[category_index] if category_index < len(EMOJI) else "⬜"
    return f"{emoji} **{title}**: {', '.join(words)}\n"


def board(game: ConnectionsGame) -> discord.Embed:
    solved = sorted(game.solved, key=lambda c: c.difficulty)
    description = "".join(_group(c.difficulty, c.title, c.words) for c in solved)
    if description and game.board:
        description += "\n"
    description += "Mistakes remaining: " + "⬛" * game.mistakes_left + "✖️" * (MAX_MISTAKES - game.mistakes_left)
    if game.status:
        description += f"\n\n{game.status}"
    return discord.Embed(title=f"Connections — {game.puzzle.date}", description=description, colour=BLURPLE)


def finished(game: ConnectionsGame) -> discord.Embed:
    """Every group revealed, in difficulty order, and the mistakes made."""
    description = "".join(_group(c.difficulty, c.title, c.words) for c in game.puzzle.categories)
    used = MAX_MISTAKES - game.mistakes_left
    description += f"\n{used} mistake{'' if used == 1 else 's'}"
    if game.won:
        title, colour = f"Connections — {game.puzzle.date} — Solved! 🎉", WON_GREEN
    else:
        title, colour = f"Connections — {game.puzzle.date} — Game Over", LOST_RED
    return discord.Embed(title=title, description=description, colour=colour)


def buttons(game: ConnectionsGame) -> discord.ui.View:
    """Four words a row, then Shuffle, Deselect and Submit."""
    view = discord.ui.View(timeout=None)
    for index, word in enumerate(game.board):
        style = discord.ButtonStyle.primary if word in game.selected else discord.ButtonStyle.secondary
        view.add_item(discord.ui.Button(label=word[:80], style=style, custom_id=f"{WORD_PREFIX}{index}",
                                        row=index // 4))
    controls = len(game.board) // 4 + (1 if len(game.board) % 4 else 0)
    view.add_item(discord.ui.Button(label="Shuffle", emoji="🔀", style=discord.ButtonStyle.secondary,
                                    custom_id=SHUFFLE, row=controls))
    view.add_item(discord.ui.Button(label="Deselect", style=discord.ButtonStyle.secondary, custom_id=DESELECT,
                                    row=controls, disabled=not game.selected))
    view.add_item(discord.ui.Button(label="Submit", emoji="✅", style=discord.ButtonStyle.success, custom_id=SUBMIT,
                                    row=controls, disabled=len(game.selected) != 4))
    view.stop()  # drawn only: discord.py must not keep it (see the module's docstring)
    return view
