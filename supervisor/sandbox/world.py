"""Each sandbox instance gets its own guild: #general, #mod-log, a few members with different roles.

The person at the keyboard ("you") owns every guild.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from supervisor.emulator import Channel, Emulator, Guild, P, Role, User
from supervisor.emulator.models import GUILD_VOICE
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


class SandboxWorld:
    def __init__(self, emu: Emulator):
        self.emu = emu
        self.you = emu.create_user("you")
        self.guilds: dict[str, InstanceGuild] = {}

    def ensure(self, spec: InstanceSpec) -> None:
        """Called before an instance starts: its application and guild exist from then on."""
        if spec.name not in self.guilds:
            self.add(spec.name, spec.env.token, spec.config.bot_name)

    def add(self, name: str, token: str, bot_name: str) -> InstanceGuild:
        """An application for `token` and a guild of its own, named after the instance."""
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
