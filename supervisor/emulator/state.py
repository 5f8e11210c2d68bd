"""The in-memory Discord world of one emulator: records, id source and lookups (no events, no I/O)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import TypeAlias

from . import errors
from .intents import PRIVILEGED
from .models import (
    DM,
    GUILD_TEXT,
    Application,
    Channel,
    DeletedMessage,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    Webhook,
)
from .permissions import DEFAULT_EVERYONE
from .snowflake import SnowflakeGenerator, utcnow

# Test-facing methods accept a record or its id.
UserRef: TypeAlias = User | Member | int
GuildRef: TypeAlias = Guild | int
ChannelRef: TypeAlias = Channel | int
RoleRef: TypeAlias = Role | int


def id_of(ref: User | Member | Guild | Channel | Role | Message | int) -> int:
    if isinstance(ref, int):
        return ref
    if isinstance(ref, Member):
        return ref.user_id
    return ref.id


class State:
    def __init__(self) -> None:
        self.ids = SnowflakeGenerator()
        self.users: dict[int, User] = {}
        self.apps: dict[str, Application] = {}
        self.guilds: dict[int, Guild] = {}
        # user id -> ids of the guilds add_member put them in (a removal is checked on read): guilds_of runs at every
        # IDENTIFY, and a scan of every guild there made a start of N bots O(N^2).
        self._member_of: dict[int, dict[int, None]] = {}
        self.channels: dict[int, Channel] = {}
        # channel id -> message id -> message, in creation order
        self.messages: dict[int, dict[int, Message]] = {}
        self.deleted: list[DeletedMessage] = []
        self._dms: dict[frozenset[int], int] = {}
        self.webhooks: dict[int, Webhook] = {}

    # --- creation -------------------------------------------------------------------------------

    def create_user(self, name: str, *, bot: bool = False) -> User:
        user = User(id=self.ids.next(), username=name, bot=bot, global_name=None if bot else name)
        self.users[user.id] = user
        return user

    def add_application(
        self, token: str, name: str, *, privileged_intents: int = PRIVILEGED, owner: User | None = None
    ) -> Application:
        if token in self.apps:
            raise ValueError("token already registered")
        bot = self.create_user(name, bot=True)
        owner = owner or self.create_user(f"{name}-owner")
        app = Application(token, bot, name, owner, int(privileged_intents) & PRIVILEGED)
        self.apps[token] = app
        return app

    def create_guild(self, name: str, owner: UserRef) -> Guild:
        owner_id = id_of(owner)
        self.user(owner_id)
        guild = Guild(id=self.ids.next(), name=name, owner_id=owner_id)
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", DEFAULT_EVERYONE, 0)
        self.guilds[guild.id] = guild
        self.add_member(guild, owner_id)
        return guild

    def create_channel(
        self,
        guild: GuildRef,
        name: str,
        type: int = GUILD_TEXT,
        *,
        overwrites: Iterable[Overwrite] = (),
        parent: ChannelRef | None = None,
        topic: str | None = None,
        position: int | None = None,
    ) -> Channel:
        g = self.guild(id_of(guild))
        if position is None:
            position = max((c.position for c in g.channels.values()), default=-1) + 1
        channel = Channel(
            id=self.ids.next(),
            type=type,
            name=name,
            guild_id=g.id,
            position=position,
            parent_id=None if parent is None else id_of(parent),
            topic=topic,
            overwrites=list(overwrites),
        )
        g.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.messages[channel.id] = {}
        return channel

    def create_role(
        self,
        guild: GuildRef,
        name: str,
        permissions: int = 0,
        position: int | None = None,
        *,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> Role:
        g = self.guild(id_of(guild))
        if position is None:
            position = max(r.position for r in g.roles.values()) + 1
        role = Role(self.ids.next(), g.id, name, int(permissions), position, color, hoist, mentionable)
        g.roles[role.id] = role
        return role

    def add_member(
        self, guild: GuildRef, user: UserRef, roles: Iterable[RoleRef] = (), joined_at: dt.datetime | None = None
    ) -> Member:
        g = self.guild(id_of(guild))
        user_id = id_of(user)
        self.user(user_id)
        role_ids = [id_of(r) for r in roles]
        for role_id in role_ids:
            self.role(g, role_id)
        member = Member(user_id=user_id, guild_id=g.id, joined_at=joined_at or utcnow(), roles=role_ids)
        g.members[user_id] = member
        self._member_of.setdefault(user_id, {})[g.id] = None
        return member

    def dm_channel(self, a: int, b: int) -> Channel:
        key = frozenset((a, b))
        existing = self._dms.get(key)
        if existing is not None:
            return self.channels[existing]
        channel = Channel(id=self.ids.next(), type=DM, name=None, recipients=sorted(key))
        self.channels[channel.id] = channel
        self.messages[channel.id] = {}
        self._dms[key] = channel.id
        return channel

    def new_message_id(self, at: dt.datetime | None = None) -> int:
        return self.ids.next(at)

    def new_session_id(self) -> str:
        return secrets.token_hex(16)

    # --- lookups raising Discord's errors -------------------------------------------------------

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise errors.unknown("User") from None

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise errors.unknown("Guild") from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise errors.unknown("Channel") from None

    def member(self, guild: Guild, user_id: int) -> Member:
        try:
            return guild.members[user_id]
        except KeyError:
            raise errors.unknown("Member") from None

    def role(self, guild: Guild, role_id: int) -> Role:
        try:
            return guild.roles[role_id]
        except KeyError:
            raise errors.unknown("Role") from None

    def message(self, channel_id: int, message_id: int) -> Message:
        try:
            return self.messages[channel_id][message_id]
        except KeyError:
            raise errors.unknown("Message") from None

    def guilds_of(self, user_id: int) -> list[Guild]:
        """In the order the guilds were created, as a scan of `guilds` gives them."""
        found = []
        for guild_id in list(self._member_of.get(user_id, ())):
            guild = self.guilds.get(guild_id)
            if guild is not None and user_id in guild.members:
                found.append(guild)
            else:
                del self._member_of[user_id][guild_id]  # removed since (operations.remove_member)
        return sorted(found, key=lambda g: g.id)
