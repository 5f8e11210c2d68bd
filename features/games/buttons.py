"""Presses on a Connections board (`game_word_N`, `game_shuffle`, `game_deselect`, `game_submit`).

Refusals are ephemeral, with the original's texts; every move edits the board in place, and the last one reveals
the answers and takes the buttons away.
"""

from __future__ import annotations

import discord
from supervisor.sdk import FeatureContext

from . import connections_embeds as draw
from .connections import EMOJI, ConnectionsGame, Outcome
from .play import Games

CUSTOM_IDS = (draw.SHUFFLE, draw.DESELECT, draw.SUBMIT)


def is_game_button(custom_id: str) -> bool:
    return custom_id.startswith(draw.WORD_PREFIX) or custom_id in CUSTOM_IDS


def refusal(games: Games[ConnectionsGame], interaction: discord.Interaction, start: str) -> str | None:
    channel_id = interaction.channel_id or 0
    game = games.get(channel_id)
    if game is None:
        return f"No active game in this channel. Start one with `{start}connections`."
    if games.expired(game):
        games.end(channel_id)
        return f"Game expired due to inactivity. Start a new one with `{start}connections`."
    message = interaction.message
    earlier_board = message is not None and game.message_id and message.id != game.message_id
    if game.over or earlier_board:
        return f"This game is already over. Start a new one with `{start}connections`."
    return None


def _move(game: ConnectionsGame, custom_id: str, user_id: int) -> str | None:
    """Apply the press; an ephemeral refusal instead, if any."""
    if custom_id.startswith(draw.WORD_PREFIX):
        index = custom_id.removeprefix(draw.WORD_PREFIX)
        if index.isdigit():
            game.toggle(int(index))
            game.status = None
    elif custom_id == draw.SHUFFLE:
        game.shuffle()
    elif custom_id == draw.DESELECT:
        game.deselect()
    elif custom_id == draw.SUBMIT:
        if len(game.selected) != 4:
            return "Select exactly 4 words before submitting."
        outcome, category = game.submit()
        if outcome is Outcome.SOLVED and category is not None:
            game.status = f"{EMOJI[category.difficulty]} **{category.title}** solved by <@{user_id}>!"
        elif outcome is Outcome.ONE_AWAY:
            game.status = f"❌ One away! (guessed by <@{user_id}>) — {game.mistakes_left} mistakes remaining"
        else:
            game.status = f"❌ Wrong! (guessed by <@{user_id}>) — {game.mistakes_left} mistakes remaining"
    return None


async def press(ctx: FeatureContext, games: Games[ConnectionsGame], interaction: discord.Interaction,
                custom_id: str) -> None:
    start = ctx.command_start()
    refused = refusal(games, interaction, start)
    game = games.get(interaction.channel_id or 0)
    if refused is None and game is not None:
        refused = _move(game, custom_id, interaction.user.id)
    if refused is not None or game is None:
        await interaction.response.send_message(refused, ephemeral=True)
        return
    games.touch(game)
    if game.over:
        games.end(game.channel_id)
        ctx.log.info("connections_finished", channel_id=game.channel_id, won=game.won,
                     mistakes=4 - game.mistakes_left)
        await interaction.response.edit_message(embed=draw.finished(game), view=None)
        return
    await interaction.response.edit_message(embed=draw.board(game), view=draw.buttons(game))
