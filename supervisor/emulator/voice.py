"""The test-facing voice API of the emulator (`emu.voice`): members in voice, bots' voice links, recordings.

Typical test use (the bot process must trust `emu.voice.ca_file`: see docs/testing.md, "Voice")::

    emu.voice.join(guild, alice, voice_channel)        # alice is in voice: VOICE_STATE_UPDATE to the bots
    ...                                                # the bot joins (op 4) and plays
    recording = emu.voice.recording(guild, bot_user)   # everything it sent there, decrypted
    await recording.wait_audio(100)
    assert 47.5 <= recording.rate() <= 52.5
    emu.voice.leave(guild, alice)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from .gateway import Gateway
from .models import Channel, VoiceState
from .state import ChannelRef, GuildRef, State, UserRef, id_of
from .voice_recording import VoiceRecording
from .voice_server import VoiceLink, VoiceServer
from .voice_states import RefusedJoin, VoiceStates
from .voice_tls import VoiceTls


class EmulatorVoice:
    def __init__(self, state: State, gateway: Gateway) -> None:
        self.state = state
        self.states = VoiceStates(state, gateway, lambda: self.server.endpoint)
        self._tls: VoiceTls | None = None
        self._server: VoiceServer | None = None

    # --- lifecycle (the Emulator calls these) -----------------------------------------------------

    async def start(self) -> None:
        self._tls = VoiceTls.create()
        self._server = VoiceServer(self.states, self._tls)
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
        if self._tls is not None:
            self._tls.close()

    @property
    def server(self) -> VoiceServer:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server

    # --- trust ------------------------------------------------------------------------------------

    @property
    def ca_file(self) -> Path:
        """The emulator's throwaway CA certificate (PEM file): the bots' process must trust it for wss voice."""
        assert self._tls is not None, "the emulator is not started"
        return self._tls.ca_file

    @property
    def ca_pem(self) -> bytes:
        assert self._tls is not None, "the emulator is not started"
        return self._tls.ca_pem

    # --- members in voice -------------------------------------------------------------------------

    def join(self, guild: GuildRef, user: UserRef, channel: ChannelRef, *, self_mute: bool = False,
             self_deaf: bool = False) -> VoiceState:
        """`user` joins (or moves to) voice `channel`, as in Discord's client: VOICE_STATE_UPDATE to the bots."""
        g = self.state.guild(id_of(guild))
        voice = self.states.set(g, id_of(user), id_of(channel), self_mute=self_mute, self_deaf=self_deaf)
        assert voice is not None
        return voice

    def move(self, guild: GuildRef, user: UserRef, channel: ChannelRef) -> None:
        """A moderator drags `user` (in voice) to `channel`; a bot's voice link moves too (close 4014, reconnect)."""
        g = self.state.guild(id_of(guild))
        if id_of(user) not in g.voice_states:
            raise ValueError(f"user {id_of(user)} is not in voice in guild {g.id}")
        self.states.move(g, id_of(user), id_of(channel))

    def leave(self, guild: GuildRef, user: UserRef) -> bool:
        """`user` leaves voice on their own (for a bot user: as if it had sent op 4 with no channel)."""
        return self.states.leave(self.state.guild(id_of(guild)), id_of(user), forced=False)

    def disconnect(self, guild: GuildRef, user: UserRef) -> bool:
        """A moderator disconnects `user` from voice; a bot's voice websocket is closed with 4014."""
        return self.states.leave(self.state.guild(id_of(guild)), id_of(user), forced=True)

    def voice_state(self, guild: GuildRef, user: UserRef) -> VoiceState | None:
        return self.state.guild(id_of(guild)).voice_states.get(id_of(user))

    def members_in(self, channel: ChannelRef) -> list[int]:
        """User ids in a voice channel, bots included."""
        c: Channel = self.state.channel(id_of(channel))
        if c.guild_id is None:
            return []
        return [v.user_id for v in self.state.guild(c.guild_id).voice_states.values() if v.channel_id == c.id]

    @property
    def refused(self) -> list[RefusedJoin]:
        """Bots' op 4 requests the emulator ignored (no such voice channel, no CONNECT permission, ...)."""
        return self.states.refused

    # --- bots' voice links and what they sent -----------------------------------------------------

    def recording(self, guild: GuildRef, bot: UserRef) -> VoiceRecording:
        """Every decrypted packet `bot` sent in `guild` (exists before the bot connects, so a test can wait)."""
        return self.server.recording(id_of(guild), id_of(bot))

    def link(self, guild: GuildRef, bot: UserRef) -> VoiceLink | None:
        """The bot's live voice session in `guild` (ssrc, mode, heartbeats, resumes), None when it has none."""
        return self.server.links.get((id_of(guild), id_of(bot)))

    def connected(self, guild: GuildRef, bot: UserRef) -> bool:
        """The bot finished the voice handshake in `guild` (it holds the key and may send audio)."""
        link = self.link(guild, bot)
        return link is not None and link.ready

    async def wait_connected(self, guild: GuildRef, bot: UserRef, timeout: float = 10.0) -> VoiceLink:
        await self._wait(lambda: self.connected(guild, bot), timeout, f"bot {id_of(bot)} connected to voice")
        link = self.link(guild, bot)
        assert link is not None
        return link

    async def wait_left(self, guild: GuildRef, bot: UserRef, timeout: float = 10.0) -> None:
        """Until the bot is out of voice in `guild` (no voice state, no live link)."""
        await self._wait(lambda: self.voice_state(guild, bot) is None and self.link(guild, bot) is None, timeout,
                         f"user {id_of(bot)} out of voice")

    def drop(self, guild: GuildRef, bot: UserRef, code: int = 4015) -> bool:
        """Close the bot's voice websocket with `code` (4015: "voice server crashed"). discord.py 2.7 then sends
        op 4 again and waits for both voice events before RESUME; here that resume times out and it leaves."""
        return self.server.drop(id_of(guild), id_of(bot), code)

    @property
    def internal_errors(self) -> list[str]:
        return [] if self._server is None else self._server.internal_errors

    @property
    def kernel_drops(self) -> int:
        """Bots' datagrams lost in the voice server's full socket buffer: not the bots' fault (0 is healthy)."""
        return self.server.kernel_drops

    @property
    def stray_packets(self) -> int:
        return self.server.stray_packets

    @staticmethod
    async def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise TimeoutError(f"not within {timeout}s: {what}") from None
