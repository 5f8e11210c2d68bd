"""The music commands as AI chat tools (`ctx.lookup("music.tools")`): same checks, texts and embeds.

`run()` returns what the member would see: a text, an embed, or "" when it already posted the Now Playing
(with its controls) itself. Refusals (DJ mode, rate limit, not in voice) come back as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord
from supervisor.sdk import UserError

from . import actions
from .actions import Reply
from .service import MusicService


def _tool(name: str, description: str, properties: dict[str, Any] | None = None,
          required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties or {}, "required": required or []}}}


TOOLS = [
    _tool("play_song", "Play a song in the member's voice channel (a name to search, or a URL).",
          {"query": {"type": "string", "description": "song name or URL"}}, ["query"]),
    _tool("skip", "Skip the current song."),
    _tool("stop", "Stop the music, clear the queue and leave voice."),
    _tool("pause", "Pause the music."),
    _tool("resume", "Resume paused music."),
    _tool("show_queue", "Show the music queue."),
    _tool("now_playing", "Show the song playing now."),
    _tool("shuffle", "Shuffle the music queue."),
    _tool("set_loop", "Set the loop mode.",
          {"mode": {"type": "string", "enum": ["off", "track", "queue"]}}, ["mode"]),
    _tool("remove_from_queue", "Remove a song from the queue by its position.",
          {"position": {"type": "number", "description": "1-based position in the queue"}}, ["position"]),
]
NAMES = frozenset(t["function"]["name"] for t in TOOLS)
UNGATED = frozenset({"show_queue", "now_playing"})  # as the prefix commands: no DJ check
NOT_IN_VOICE = "You need to be in a voice channel for me to play music."


class MusicTools:
    tools = TOOLS

    def __init__(self, service: MusicService):
        self.service = service

    async def run(self, name: str, arguments: Mapping[str, Any], *, member: discord.abc.User,
                  channel: discord.abc.Messageable) -> str | discord.Embed:
        if not isinstance(member, discord.Member):
            return "Music works in a server only."
        try:
            self.service.rate_limit(member.id)
            if name not in UNGATED:
                refusal = await self.service.dj_refusal(member)
                if refusal:
                    return refusal
            reply = await self._reply(name, arguments, member, channel)
        except UserError as error:
            return NOT_IN_VOICE if str(error) == actions.NOT_IN_VOICE else str(error)
        return await self._deliver(reply, member.guild, channel)

    async def _reply(self, name: str, arguments: Mapping[str, Any], member: discord.Member,
                     channel: discord.abc.Messageable) -> Reply:
        guild, service = member.guild, self.service
        if name == "play_song":
            return await actions.play(service, member, channel, str(arguments.get("query", "")))
        if name == "set_loop":
            return await actions.set_loop(service, guild, str(arguments.get("mode", "")) or None)
        if name == "remove_from_queue":
            try:
                position = int(float(arguments.get("position", 0)))
            except (TypeError, ValueError):
                position = 0
            return actions.remove(service, guild, position)
        simple = {"skip": actions.skip, "stop": actions.stop, "pause": actions.pause, "resume": actions.resume}
        if name in simple:
            return await simple[name](service, guild)
        plain = {"show_queue": actions.queue, "now_playing": actions.now_playing, "shuffle": actions.shuffle}
        if name in plain:
            return plain[name](service, guild)
        return Reply("Unknown music tool.")

    async def _deliver(self, reply: Reply, guild: discord.Guild,
                       channel: discord.abc.Messageable) -> str | discord.Embed:
        player = self.service.players.get(guild.id)
        if (reply.now_playing or reply.then_now_playing) and player is not None and player.current is not None:
            player.channel = channel
            if reply.text:
                await channel.send(reply.text)
            await player.post_now_playing(embed=reply.embed if reply.now_playing else None)
            return ""
        return reply.embed or reply.text or ""
