"""Who is in which voice channel: members joining, moving and leaving, and bots asking with gateway op 4.

Every change dispatches VOICE_STATE_UPDATE to the guild's bots (those with the voice-states intent). A bot's own
op 4 into a channel is also answered with VOICE_SERVER_UPDATE (a fresh token and the voice server's endpoint),
and the voice server (voice_server.py) admits only an IDENTIFY that matches that grant.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from . import payloads
from .gateway import Gateway, Session
from .models import GUILD_STAGE_VOICE, GUILD_VOICE, Guild, VoiceState
from .permissions import P, channel_permissions
from .snowflake import utcnow
from .state import State

log = structlog.get_logger("supervisor.emulator.voice")

STAGE_VOICE = GUILD_STAGE_VOICE


@dataclass
class VoiceGrant:
    """What VOICE_SERVER_UPDATE told one bot: the voice server admits an IDENTIFY that matches it."""

    guild_id: int
    user_id: int
    session_id: str
    token: str


@dataclass
class RefusedJoin:
    """An op 4 the emulator ignored, as Discord does (the bot's connect() then times out), and why."""

    guild_id: int
    user_id: int
    channel_id: int | None
    reason: str


class VoiceStates:
    def __init__(self, state: State, gateway: Gateway, endpoint: Callable[[], str]) -> None:
        self.state = state
        self.gateway = gateway
        self._endpoint = endpoint
        self.grants: dict[tuple[int, int], VoiceGrant] = {}  # (guild id, user id) -> the latest grant
        self.refused: list[RefusedJoin] = []
        # Called with (guild id, user id, forced) when a bot leaves voice (op 4 with no channel) or is
        # disconnected (forced): the voice server stops taking its audio, and closes the link if forced.
        self.on_left: list[Callable[[int, int, bool], None]] = []
        gateway.on_voice_state = self.bot_request

    # --- changes ----------------------------------------------------------------------------------

    def set(self, guild: Guild, user_id: int, channel_id: int | None, session_id: str | None = None,
            *, self_mute: bool = False, self_deaf: bool = False) -> VoiceState | None:
        """Put `user_id` in `channel_id` (None: out of voice) and tell the bots. Returns the new state."""
        if channel_id is None:
            old = guild.voice_states.pop(user_id, None)
            if old is None:
                return None
            self._announce(guild, user_id, None)
            return None
        channel = guild.channels.get(channel_id)
        if channel is None or channel.type not in (GUILD_VOICE, STAGE_VOICE):
            raise ValueError(f"channel {channel_id} is not a voice channel of guild {guild.id}")
        if user_id not in guild.members:
            raise ValueError(f"user {user_id} is not a member of guild {guild.id}")
        current = guild.voice_states.get(user_id)
        voice = VoiceState(user_id, guild.id, channel_id, session_id or (current.session_id if current else None)
                           or secrets.token_hex(16), self_mute=self_mute, self_deaf=self_deaf)
        guild.voice_states[user_id] = voice
        self._announce(guild, user_id, voice)
        return voice

    def _announce(self, guild: Guild, user_id: int, voice: VoiceState | None) -> None:
        data = payloads.voice_state(self.state, voice, guild.id, user_id)
        self.gateway.dispatch_guild(guild, "VOICE_STATE_UPDATE", data, about_user=user_id)

    def leave(self, guild: Guild, user_id: int, *, forced: bool) -> bool:
        """`user_id` leaves voice; `forced`: a moderator (or Discord) disconnected them, and a bot's voice link
        is closed too. False if they were not in voice."""
        was_in = user_id in guild.voice_states
        self.set(guild, user_id, None)
        self.grants.pop((guild.id, user_id), None)
        for listener in list(self.on_left):
            listener(guild.id, user_id, forced)
        return was_in

    # --- a bot's op 4 -----------------------------------------------------------------------------

    def bot_request(self, session: Session, data: dict[str, Any]) -> None:
        user_id = session.app.user.id
        try:
            guild_id = int(data["guild_id"])
            raw_channel = data.get("channel_id")
            channel_id = None if raw_channel is None else int(raw_channel)
        except (KeyError, TypeError, ValueError):
            self.refused.append(RefusedJoin(0, user_id, None, "malformed op 4"))
            return
        guild = self.state.guilds.get(guild_id)
        if guild is None or user_id not in guild.members or not session.owns_guild(guild_id):
            self.refused.append(RefusedJoin(guild_id, user_id, channel_id, "not in that guild"))
            return
        if channel_id is None:
            self.leave(guild, user_id, forced=False)
            return
        reason = self._join_refusal(guild, user_id, channel_id)
        if reason is not None:
            log.info("voice_join_refused", reason=reason)
            self.refused.append(RefusedJoin(guild_id, user_id, channel_id, reason))
            return
        before = guild.voice_states.get(user_id)
        moved = before is not None and before.channel_id != channel_id
        self.set(guild, user_id, channel_id, session.id, self_mute=bool(data.get("self_mute")),
                 self_deaf=bool(data.get("self_deaf")))
        self._grant(guild_id, user_id, session.id, moved=moved)

    def _grant(self, guild_id: int, user_id: int, session_id: str, *, moved: bool) -> None:
        grant = VoiceGrant(guild_id, user_id, session_id, secrets.token_hex(16))
        self.grants[(guild_id, user_id)] = grant
        server_update = {"token": grant.token, "guild_id": str(guild_id), "endpoint": self._endpoint()}
        self.gateway.dispatch_bot(user_id, guild_id, "VOICE_SERVER_UPDATE", server_update)
        if moved:
            # Another channel is another voice server: the old voice link closes with 4014 and discord.py
            # connects a new one with the grant above.
            for listener in list(self.on_left):
                listener(guild_id, user_id, True)

    def move(self, guild: Guild, user_id: int, channel_id: int) -> None:
        """A moderator moves `user_id` (in voice) to `channel_id`; a bot in voice gets a new voice server."""
        current = guild.voice_states[user_id]
        if current.channel_id == channel_id:
            return
        self.set(guild, user_id, channel_id, current.session_id, self_mute=current.self_mute,
                 self_deaf=current.self_deaf)
        if (guild.id, user_id) in self.grants:
            self._grant(guild.id, user_id, current.session_id, moved=True)

    def _join_refusal(self, guild: Guild, user_id: int, channel_id: int) -> str | None:
        channel = guild.channels.get(channel_id)
        if channel is None or channel.type not in (GUILD_VOICE, STAGE_VOICE):
            return f"channel {channel_id} is not a voice channel of guild {guild.id}"
        perms = channel_permissions(guild, channel, guild.members[user_id], utcnow())
        needed = P.VIEW_CHANNEL | P.CONNECT
        if perms & needed != needed:
            return f"missing VIEW_CHANNEL/CONNECT in channel {channel_id}"
        return None

    def grant_for(self, guild_id: int, user_id: int) -> VoiceGrant | None:
        return self.grants.get((guild_id, user_id))
