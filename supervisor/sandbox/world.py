"""Each sandbox instance gets its own guild: #general, #mod-log, a few members with different roles.

The person at the keyboard ("you") owns every guild.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from supervisor.emulator import Channel, Emulator, Guild, P, Role, User
from supervisor.emulator.models import GUILD_VOICE
from supervisor.emulator.snowflake import SnowflakeGenerator
from supervisor.instances import InstanceSpec

MODERATOR = P.BAN_MEMBERS | P.KICK_MEMBERS | P.MODERATE_MEMBERS | P.MANAGE_MESSAGES
# (member name, role name); the roles are made below with these permissions and positions.
ROLES = {"Bot": (P.ADMINISTRATOR, 5), "Admin": (P.ADMINISTRATOR, 4), "Moderator": (MODERATOR, 3), "Member": (0, 1)}
MEMBERS = (("alice", "Moderator"), ("bob", "Member"), ("carol", "Member"), ("dave", "Admin"))


@dataclass
class InstanceGuild:
    name: str
    bot_user: User
    guild: Guild
    channels: dict[str, Channel]
    roles: dict[str, Role]
    members: dict[str, User] = field(default_factory=dict)
    voice_channels: dict[str, Channel] = field(default_factory=dict)


class _StableIds:
    """Ids made at a fixed moment of their own for each name: the same instance gets the same guild, channel,
    role and member ids in every run, so a kept schema's rows (tempbans, mod-log settings) still point at them."""

    def __init__(self, name: str):
        self._at = STABLE_EPOCH + dt.timedelta(milliseconds=zlib.crc32(name.encode()))
        self._ids = SnowflakeGenerator()

    def next(self, at: dt.datetime | None = None) -> int:
        return self._ids.next(self._at if at is None else at)


STABLE_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


class SandboxWorld:
    def __init__(self, emu: Emulator, *, stable_ids: bool = False):
        self.emu = emu
        self.stable_ids = stable_ids  # --keep: the world's ids stay the same across runs
        with self._ids_for("you"):
            self.you = emu.create_user("you")
        self.guilds: dict[str, InstanceGuild] = {}

    @contextlib.contextmanager
    def _ids_for(self, name: str) -> Iterator[None]:
        if not self.stable_ids:
            yield
            return
        state = self.emu.state
        real, state.ids = state.ids, _StableIds(name)  # type: ignore[assignment]
        try:
            yield
        finally:
            state.ids = real

    def ensure(self, spec: InstanceSpec) -> None:
        """Called before an instance starts: its application and guild exist from then on."""
        if spec.name not in self.guilds:
            self.add(spec.name, spec.env.token, spec.config.bot_name)

    def add(self, name: str, token: str, bot_name: str) -> InstanceGuild:
        """An application for `token` and a guild of its own, named after the instance."""
        with self._ids_for(f"instance:{name}"):
            return self._add(name, token, bot_name)

    def _add(self, name: str, token: str, bot_name: str) -> InstanceGuild:
        emu = self.emu
        bot_user = emu.add_application(token, bot_name)
        guild = emu.create_guild(f"{name} sandbox", self.you)
        channels = {name: emu.create_channel(guild, name) for name in ("general", "mod-log")}
        roles = {name: emu.create_role(guild, name, int(perms), position=pos) for name, (perms, pos) in ROLES.items()}
        world = InstanceGuild(name, bot_user, guild, channels, roles, {"you": self.you})
        world.voice_channels = {n: emu.create_channel(guild, n, GUILD_VOICE) for n in ("General", "Music")}
        emu.add_bot_to_guild(guild, bot_user, roles=[roles["Bot"]])
        for member_name, role_name in MEMBERS:
            user = emu.create_user(member_name)
            emu.add_member(guild, user, roles=[roles[role_name]])
            world.members[member_name] = user
        self.guilds[name] = world
        return world
