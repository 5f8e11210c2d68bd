"""Plain records of the emulated Discord world. Payload shaping lives in payloads.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .snowflake import snowflake_time

# Channel types the emulator knows how to host.
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_NEWS = 5
GUILD_STAGE_VOICE = 13

OVERWRITE_ROLE = 0
OVERWRITE_MEMBER = 1


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    discriminator: str = "0"
    avatar: str | None = None

    @property
    def created_at(self) -> dt.datetime:
        return snowflake_time(self.id)


@dataclass
class Application:
    token: str
    user: User
    name: str
    owner: User
    # Privileged intents the application is allowed to request (a mask of intent bits).
    privileged_intents: int
    # Tests: close every IDENTIFY with this code (4004 while REST still accepts the token, 4011 sharding required).
    identify_close_code: int | None = None

    @property
    def id(self) -> int:
        # Modern applications share their id with their bot user.
        return self.user.id


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    tags: dict[str, Any] | None = None

    @property
    def sort_key(self) -> tuple[int, int]:
        # Discord breaks position ties by age: the older role (smaller id) ranks higher.
        return (self.position, -self.id)


@dataclass
class Overwrite:
    id: int
    type: int
    allow: int = 0
    deny: int = 0

    @classmethod
    def for_role(cls, role: Role | int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        """Overwrite for a role; pass `guild.everyone` (or the guild id) for @everyone."""
        return cls(role if isinstance(role, int) else role.id, OVERWRITE_ROLE, int(allow), int(deny))

    @classmethod
    def for_member(cls, user: User | int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        return cls(user if isinstance(user, int) else user.id, OVERWRITE_MEMBER, int(allow), int(deny))


@dataclass
class Channel:
    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    overwrites: list[Overwrite] = field(default_factory=list)
    last_message_id: int | None = None
    recipients: list[int] = field(default_factory=list)
    bitrate: int = 64000  # voice and stage channels only
    user_limit: int = 0
    rtc_region: str | None = None


@dataclass
class Member:
    user_id: int
    guild_id: int
    joined_at: dt.datetime
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    communication_disabled_until: dt.datetime | None = None
    flags: int = 0
    deaf: bool = False
    mute: bool = False

    def timed_out(self, now: dt.datetime) -> bool:
        until = self.communication_disabled_until
        return until is not None and until > now


@dataclass
class VoiceState:
    """A user in a voice channel. `session_id` is the gateway session that joined (a bot's) or an invented one."""

    user_id: int
    guild_id: int
    channel_id: int
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False
    self_video: bool = False
    self_stream: bool = False
    suppress: bool = False


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None


@dataclass
class InteractionMetadata:
    """What a message created by an interaction response says about that interaction."""

    id: int
    type: int
    user_id: int
    interacted_message_id: int | None = None


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    timestamp: dt.datetime
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reference_id: int | None = None
    type: int = 0
    tts: bool = False
    flags: int = 0
    nonce: str | int | None = None
    edited_timestamp: dt.datetime | None = None
    # emoji key -> user ids that reacted with it
    reactions: dict[str, list[int]] = field(default_factory=dict)
    # Set on interaction responses and follow-ups (sent through the application's webhook).
    webhook_id: int | None = None
    interaction: InteractionMetadata | None = None
    # An ephemeral message is seen only by this user (and never by the bots' gateway or channel history).
    visible_to: int | None = None


@dataclass
class Webhook:
    id: int
    guild_id: int
    channel_id: int
    name: str
    token: str
    creator_id: int
    user_id: int  # the webhook's own author identity for the messages it posts


@dataclass
class Ban:
    user_id: int
    reason: str | None


@dataclass
class AuditEntry:
    """One moderated action with the reason a bot gave (X-Audit-Log-Reason)."""

    id: int
    guild_id: int
    action: str
    actor_id: int
    target_id: int | None
    reason: str | None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class DeletedMessage:
    message: Message
    deleted_by: int | None
    bulk: bool


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    bans: dict[int, Ban] = field(default_factory=dict)
    kicked: list[int] = field(default_factory=list)
    audit_log: list[AuditEntry] = field(default_factory=list)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)  # user id -> where they are in voice

    @property
    def everyone(self) -> Role:
        # The @everyone role shares the guild's id.
        return self.roles[self.id]
