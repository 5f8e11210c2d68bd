"""Discord's permission arithmetic: role bits, channel overwrites, timeouts and role hierarchy."""

from __future__ import annotations

import datetime as dt
from enum import IntFlag

from .models import OVERWRITE_MEMBER, Channel, Guild, Member, Role


class P(IntFlag):
    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40


ALL = (1 << 53) - 1

# What a fresh guild's @everyone can do (close to Discord's default for new servers).
DEFAULT_EVERYONE = int(
    P.CREATE_INSTANT_INVITE
    | P.ADD_REACTIONS
    | P.STREAM
    | P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.MENTION_EVERYONE
    | P.USE_EXTERNAL_EMOJIS
    | P.CONNECT
    | P.SPEAK
    | P.USE_VAD
    | P.CHANGE_NICKNAME
    | P.USE_APPLICATION_COMMANDS
    | P.CREATE_PUBLIC_THREADS
    | P.SEND_MESSAGES_IN_THREADS
)

# A timed-out member keeps only these (unless owner or administrator).
TIMEOUT_ALLOWED = int(P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)

# Channel bits that need VIEW_CHANNEL to mean anything.
_TEXT_BITS = int(
    P.SEND_MESSAGES
    | P.SEND_TTS_MESSAGES
    | P.MANAGE_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.MENTION_EVERYONE
    | P.ADD_REACTIONS
)


def member_roles(guild: Guild, member: Member) -> list[Role]:
    return [guild.roles[r] for r in member.roles if r in guild.roles]


def base_permissions(guild: Guild, member: Member) -> int:
    if member.user_id == guild.owner_id:
        return ALL
    perms = guild.everyone.permissions
    for role in member_roles(guild, member):
        perms |= role.permissions
    if perms & P.ADMINISTRATOR:
        return ALL
    return perms


def channel_permissions(guild: Guild, channel: Channel, member: Member, now: dt.datetime) -> int:
    """Permissions in `channel`: base, then @everyone, role, and member overwrites in Discord's order."""
    perms = base_permissions(guild, member)
    if perms == ALL:
        return ALL
    by_id = {ow.id: ow for ow in channel.overwrites}
    everyone = by_id.get(guild.id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        ow = by_id.get(role_id)
        if ow is not None and ow.type != OVERWRITE_MEMBER:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    own = by_id.get(member.user_id)
    if own is not None and own.type == OVERWRITE_MEMBER:
        perms = (perms & ~own.deny) | own.allow
    if not perms & P.VIEW_CHANNEL:
        perms &= ~_TEXT_BITS
    if member.timed_out(now):
        perms &= TIMEOUT_ALLOWED
    return perms


def guild_permissions(guild: Guild, member: Member, now: dt.datetime) -> int:
    perms = base_permissions(guild, member)
    if perms != ALL and member.timed_out(now):
        perms &= TIMEOUT_ALLOWED
    return perms


def top_role_key(guild: Guild, member: Member) -> tuple[int, int]:
    keys = [role.sort_key for role in member_roles(guild, member)]
    return max(keys, default=guild.everyone.sort_key)


def outranks(guild: Guild, actor: Member, target: Member) -> bool:
    """Whether `actor` may moderate `target`: owner wins, nobody touches the owner, else top role decides."""
    if target.user_id == guild.owner_id:
        return False
    if actor.user_id == guild.owner_id:
        return True
    return top_role_key(guild, actor) > top_role_key(guild, target)


def can_manage_role(guild: Guild, actor: Member, role: Role) -> bool:
    if actor.user_id == guild.owner_id:
        return True
    return top_role_key(guild, actor) > role.sort_key
