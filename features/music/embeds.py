"""The original's music embeds and player buttons: Now Playing, Added to Queue, Playlist Queued, Music Queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import discord
from supervisor.sdk import BLURPLE, DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, GREEN, fit_lines, truncate

from .tracks import LoopMode, Track, track_duration

QUEUE_SHOWN = 15
BUTTONS = ("music_pauseresume", "music_skip", "music_stop", "music_shuffle", "music_loop", "music_queue")


def _link(track: Track, linked: bool = True) -> str:
    title = discord.utils.escape_markdown(truncate(track.title, 200)).replace("]", "\\]")
    return f"[{title}]({track.url})" if linked and track.url.startswith(("http://", "https://")) else title


def _card(title: str, colour: int, track: Track) -> discord.Embed:
    embed = discord.Embed(title=title, colour=colour, description=f"**{_link(track)}**")
    embed.add_field(name="Duration", value=track_duration(track.duration))
    if track.thumbnail.startswith(("http://", "https://")):
        embed.set_thumbnail(url=track.thumbnail)
    return embed


def now_playing(track: Track, paused: bool = False, loop: LoopMode = LoopMode.OFF) -> discord.Embed:
    embed = _card("Now Playing", BLURPLE, track)
    embed.add_field(name="Requested by", value=truncate(track.requested_by, 100))
    footer = [*(["Paused"] if paused else []),
              *({LoopMode.TRACK: ["Looping Track"], LoopMode.QUEUE: ["Looping Queue"]}.get(loop, []))]
    if footer:
        embed.set_footer(text=" • ".join(footer))
    return embed


def added_to_queue(track: Track, position: int) -> discord.Embed:
    embed = _card("Added to Queue", GREEN, track)
    embed.add_field(name="Position", value=f"#{position}")
    embed.add_field(name="Requested by", value=truncate(track.requested_by, 100))
    return embed


def playlist_queued(added: int, playing: Track | None) -> discord.Embed:
    embed = discord.Embed(title="Playlist Queued", colour=GREEN, description=f"Added **{added}** tracks to the queue.")
    if playing is not None:
        embed.add_field(name="Now Playing", value=truncate(playing.title, 200), inline=False)
    return embed


def queue_view(current: Track | None, queue: Sequence[Track]) -> discord.Embed:
    embed = discord.Embed(title="Music Queue", colour=BLURPLE)
    if current is None:
        embed.description = "Nothing is playing right now."
    else:
        embed.description = truncate(f"**Now Playing:** {_link(current)} `{track_duration(current.duration)}`",
                                     DESCRIPTION_LIMIT)
    if queue:
        more = len(queue) - QUEUE_SHOWN
        tail = f"... and {more} more" if more > 0 else ""
        room = FIELD_VALUE_LIMIT - len(tail) - 1

        def lines(linked: bool) -> list[str]:
            return [f"**{n}.** {_link(t, linked)} `{track_duration(t.duration)}` — {truncate(t.requested_by, 40)}"
                    for n, t in enumerate(queue[:QUEUE_SHOWN], 1)]

        # A field holds 1024 characters: when 15 links do not fit, the titles alone do (the original overflowed).
        linked = lines(True)
        value = fit_lines(linked if len("\n".join(linked)) <= room else lines(False), room)
        total = sum(t.duration for t in queue) + (current.duration if current else 0)
        plural = "" if len(queue) == 1 else "s"
        embed.add_field(name=f"Up Next ({len(queue)} song{plural}) — Total: {track_duration(total)}",
                        value=f"{value}\n{tail}".strip(), inline=False)
    elif current is not None:
        embed.add_field(name="Up Next", value="Queue is empty.", inline=False)
    return embed


Press = Callable[[discord.Interaction, str], Awaitable[None]]


class Controls(discord.ui.View):
    """The six player buttons. One persistent copy (registered at start) answers presses on any old message;
    each Now Playing message carries a copy drawn for the player's state."""

    def __init__(self, on_press: Press, paused: bool = False, loop: LoopMode = LoopMode.OFF):
        super().__init__(timeout=None)
        self._on_press = on_press
        loop_style = {LoopMode.OFF: discord.ButtonStyle.secondary, LoopMode.TRACK: discord.ButtonStyle.success,
                      LoopMode.QUEUE: discord.ButtonStyle.primary}[loop]
        specs = [
            ("music_pauseresume", "▶️" if paused else "⏸️",
             discord.ButtonStyle.success if paused else discord.ButtonStyle.secondary, None, 0),
            ("music_skip", "⏭️", discord.ButtonStyle.secondary, None, 0),
            ("music_stop", "⏹️", discord.ButtonStyle.danger, None, 0),
            ("music_shuffle", "🔀", discord.ButtonStyle.secondary, None, 0),
            ("music_loop", "🔂" if loop is LoopMode.TRACK else "🔁", loop_style, None, 0),
            ("music_queue", "📋", discord.ButtonStyle.secondary, "Queue", 1),
        ]
        for custom_id, emoji, style, label, row in specs:
            button: discord.ui.Button[Controls] = discord.ui.Button(custom_id=custom_id, emoji=emoji, style=style,
                                                                     label=label, row=row)
            button.callback = self._callback(custom_id)  # type: ignore[method-assign,assignment]
            self.add_item(button)

    def _callback(self, custom_id: str) -> Callable[[discord.Interaction], Coroutine[Any, Any, None]]:
        async def pressed(interaction: discord.Interaction) -> None:
            await self._on_press(interaction, custom_id)
        return pressed
