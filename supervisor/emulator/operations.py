"""State changes that Discord announces: each mutates the model and dispatches the matching events.

REST handlers call these after their permission checks; the test-facing API calls them directly.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from . import payloads
from .gateway import Gateway
from .interactions import Interactions
from .models import (
    Attachment,
    AuditEntry,
    Ban,
    Channel,
    DeletedMessage,
    Guild,
    InteractionMetadata,
    Member,
    Message,
    Role,
)
from .permissions import P, guild_permissions
from .snowflake import utcnow
from .state import State
from .voice_states import VoiceStates

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")

MessageListener = Callable[[Message], None]


class Operations:
    def __init__(self, state: State, gateway: Gateway, base_url: Callable[[], str]) -> None:
        self.state = state
        self.gateway = gateway
        self._base_url = base_url
        # Called with every message a bot or user creates (ephemeral ones included), and with every edit.
        self.message_listeners: list[MessageListener] = []
        self.edit_listeners: list[MessageListener] = []
        self.interactions = Interactions(state, self)
        self.voice: VoiceStates | None = None  # the Emulator's voice model, for member edits that move or mute

    # --- payload helpers --------------------------------------------------------------------------

    def message_payload(self, message: Message) -> dict[str, Any]:
        return payloads.message(self.state, message, self._base_url())

    def audit(
        self,
        guild: Guild,
        action: str,
        actor_id: int,
        target_id: int | None,
        reason: str | None,
        **changes: Any,
    ) -> AuditEntry:
        entry = AuditEntry(self.state.ids.next(), guild.id, action, actor_id, target_id, reason, changes)
        guild.audit_log.append(entry)
        return entry

    # --- members ----------------------------------------------------------------------------------

    def add_member(
        self, guild: Guild, user_id: int, roles: Iterable[int] = (), joined_at: dt.datetime | None = None
    ) -> Member:
        member = self.state.add_member(guild, user_id, roles, joined_at)
        self.gateway.guild_joined(user_id, guild)
        self.gateway.dispatch_guild(
            guild, "GUILD_MEMBER_ADD", payloads.guild_member_event(self.state, member), about_user=user_id
        )
        return member

    def member_updated(self, guild: Guild, member: Member) -> None:
        self.gateway.dispatch_guild(
            guild,
            "GUILD_MEMBER_UPDATE",
            payloads.guild_member_event(self.state, member),
            about_user=member.user_id,
        )

    def remove_member(self, guild: Guild, user_id: int) -> Member | None:
        if self.voice is not None and user_id in guild.voice_states:
            self.voice.leave(guild, user_id, forced=True)  # out of the guild is out of its voice channels
        member = guild.members.pop(user_id, None)
        if member is None:
            return None
        user = payloads.user(self.state.users[user_id])
        self.gateway.dispatch_guild(
            guild, "GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": user}, about_user=user_id
        )
        # A removed bot loses the whole guild.
        self.gateway.dispatch_user(user_id, guild, "GUILD_DELETE", {"id": str(guild.id)})
        return member

    def kick(self, guild: Guild, user_id: int, actor_id: int, reason: str | None) -> None:
        if self.remove_member(guild, user_id) is not None:
            guild.kicked.append(user_id)
            self.audit(guild, "member_kick", actor_id, user_id, reason)

    def ban(
        self, guild: Guild, user_id: int, actor_id: int, reason: str | None, delete_message_seconds: int = 0
    ) -> None:
        guild.bans[user_id] = Ban(user_id, reason)
        self.audit(guild, "member_ban_add", actor_id, user_id, reason)
        user = payloads.user(self.state.users[user_id])
        self.gateway.dispatch_guild(guild, "GUILD_BAN_ADD", {"guild_id": str(guild.id), "user": user})
        self.remove_member(guild, user_id)
        if delete_message_seconds > 0:
            since = utcnow() - dt.timedelta(seconds=delete_message_seconds)
            for channel in guild.channels.values():
                doomed = [
                    m
                    for m in self.state.messages.get(channel.id, {}).values()
                    if m.author_id == user_id and m.timestamp >= since
                ]
                if doomed:
                    self.delete_messages(channel, doomed, actor_id)

    def unban(self, guild: Guild, user_id: int, actor_id: int, reason: str | None) -> None:
        del guild.bans[user_id]
        self.audit(guild, "member_ban_remove", actor_id, user_id, reason)
        user = payloads.user(self.state.users[user_id])
        self.gateway.dispatch_guild(guild, "GUILD_BAN_REMOVE", {"guild_id": str(guild.id), "user": user})

    # --- roles ------------------------------------------------------------------------------------

    def _role_event(self, guild: Guild, event: str, role: Role) -> None:
        self.gateway.dispatch_guild(guild, event, {"guild_id": str(guild.id), "role": payloads.role(role)})

    def create_role(self, guild: Guild, name: str, permissions: int, position: int | None = None, **kw: Any) -> Role:
        role = self.state.create_role(guild, name, permissions, position, **kw)
        self._role_event(guild, "GUILD_ROLE_CREATE", role)
        return role

    def role_updated(self, guild: Guild, role: Role) -> None:
        self._role_event(guild, "GUILD_ROLE_UPDATE", role)

    def delete_role(self, guild: Guild, role: Role) -> None:
        del guild.roles[role.id]
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        self.gateway.dispatch_guild(guild, "GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)})

    # --- channels ---------------------------------------------------------------------------------

    def channel_created(self, channel: Channel) -> None:
        guild = self.state.guilds[channel.guild_id] if channel.guild_id is not None else None
        if guild is not None:
            self.gateway.dispatch_guild(guild, "CHANNEL_CREATE", payloads.channel(self.state, channel))

    def channel_updated(self, channel: Channel) -> None:
        if channel.guild_id is not None:
            guild = self.state.guilds[channel.guild_id]
            self.gateway.dispatch_guild(guild, "CHANNEL_UPDATE", payloads.channel(self.state, channel))

    def delete_channel(self, channel: Channel) -> None:
        if channel.guild_id is None:
            return
        guild = self.state.guilds[channel.guild_id]
        if self.voice is not None:
            for voice in [v for v in guild.voice_states.values() if v.channel_id == channel.id]:
                self.voice.leave(guild, voice.user_id, forced=True)  # a deleted voice channel empties (4014)
        data = payloads.channel(self.state, channel)
        self.gateway.dispatch_guild(guild, "CHANNEL_DELETE", data)
        del guild.channels[channel.id]
        del self.state.channels[channel.id]

    # --- messages ---------------------------------------------------------------------------------

    def resolve_mentions(
        self,
        guild: Guild | None,
        author_id: int,
        content: str,
        allowed: dict[str, Any] | None,
        reply_to: Message | None,
    ) -> tuple[list[int], list[int], bool]:
        """Users and roles a message pings, honouring allowed_mentions like Discord does."""
        parse = None if allowed is None else set(allowed.get("parse") or [])
        users = [int(u) for u in _USER_MENTION.findall(content) if int(u) in self.state.users]
        if parse is not None and "users" not in parse:
            explicit = {int(u) for u in (allowed or {}).get("users") or []}
            users = [u for u in users if u in explicit]
        if reply_to is not None and (allowed is None or allowed.get("replied_user", True)):
            users.append(reply_to.author_id)
        roles: list[int] = []
        everyone = False
        if guild is not None:
            roles = [int(r) for r in _ROLE_MENTION.findall(content) if int(r) in guild.roles]
            if parse is not None and "roles" not in parse:
                explicit = {int(r) for r in (allowed or {}).get("roles") or []}
                roles = [r for r in roles if r in explicit]
            author = guild.members.get(author_id)
            everyone = (
                ("@everyone" in content or "@here" in content)
                and (parse is None or "everyone" in parse)
                and author is not None
                and bool(guild_permissions(guild, author, utcnow()) & P.MENTION_EVERYONE)
            )
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone

    def create_message(
        self,
        channel: Channel,
        author_id: int,
        content: str = "",
        *,
        embeds: list[dict[str, Any]] | None = None,
        attachments: list[Attachment] | None = None,
        components: list[dict[str, Any]] | None = None,
        mentions: list[int] | None = None,
        mention_roles: list[int] | None = None,
        mention_everyone: bool = False,
        reference: Message | None = None,
        nonce: str | int | None = None,
        tts: bool = False,
        flags: int = 0,
        timestamp: dt.datetime | None = None,
        webhook_id: int | None = None,
        interaction: InteractionMetadata | None = None,
    ) -> Message:
        message = Message(
            id=self.state.new_message_id(timestamp),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            timestamp=timestamp or utcnow(),
            embeds=embeds or [],
            attachments=attachments or [],
            components=components or [],
            mentions=mentions or [],
            mention_roles=mention_roles or [],
            mention_everyone=mention_everyone,
            reference_id=None if reference is None else reference.id,
            type=19 if reference is not None else 0,
            tts=tts,
            flags=flags,
            nonce=nonce,
            webhook_id=webhook_id,
            interaction=interaction,
        )
        self.state.messages[channel.id][message.id] = message
        channel.last_message_id = message.id
        self._message_event(channel, "MESSAGE_CREATE", self.message_payload(message))
        for listener in list(self.message_listeners):
            listener(message)
        return message

    def message_edited(self, channel: Channel, message: Message) -> None:
        message.edited_timestamp = utcnow()
        self._message_event(channel, "MESSAGE_UPDATE", self.message_payload(message))
        for listener in list(self.edit_listeners):
            listener(message)

    def delete_message(self, channel: Channel, message: Message, actor_id: int | None) -> None:
        self.state.messages[channel.id].pop(message.id, None)
        self.state.deleted.append(DeletedMessage(message, actor_id, bulk=False))
        data = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self._message_event(channel, "MESSAGE_DELETE", data)

    def delete_messages(self, channel: Channel, messages: list[Message], actor_id: int | None) -> None:
        for message in messages:
            self.state.messages[channel.id].pop(message.id, None)
            self.state.deleted.append(DeletedMessage(message, actor_id, bulk=True))
        data: dict[str, Any] = {"ids": [str(m.id) for m in messages], "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self._message_event(channel, "MESSAGE_DELETE_BULK", data)

    def reaction(self, channel: Channel, message: Message, user_id: int, emoji: str, *, add: bool) -> None:
        users = message.reactions.setdefault(emoji, [])
        if add == (user_id in users):
            return  # Discord treats a repeated add or a missing remove as a no-op
        if add:
            users.append(user_id)
        else:
            users.remove(user_id)
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(channel.id),
            "message_id": str(message.id),
            "emoji": payloads.emoji(emoji),
            "burst": False,
            "type": 0,
        }
        if channel.guild_id is not None:
            guild = self.state.guilds[channel.guild_id]
            data["guild_id"] = str(guild.id)
            if add and user_id in guild.members:
                data["member"] = payloads.member(self.state, guild.members[user_id])
        self._message_event(channel, "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", data)

    def typing(self, channel: Channel, user_id: int) -> None:
        data: dict[str, Any] = {
            "channel_id": str(channel.id),
            "user_id": str(user_id),
            "timestamp": int(utcnow().timestamp()),
        }
        if channel.guild_id is not None:
            guild = self.state.guilds[channel.guild_id]
            data["guild_id"] = str(guild.id)
            if user_id in guild.members:
                data["member"] = payloads.member(self.state, guild.members[user_id])
        self._message_event(channel, "TYPING_START", data)

    def _message_event(self, channel: Channel, event: str, data: dict[str, Any]) -> None:
        if channel.guild_id is None:
            self.gateway.dispatch_dm(channel, event, data)
        else:
            guild = self.state.guilds[channel.guild_id]
            self.gateway.dispatch_guild(guild, event, data, channel=channel)
