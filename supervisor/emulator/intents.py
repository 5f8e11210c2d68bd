"""Gateway intents: which events a session may receive and what message content it may see."""

from __future__ import annotations

from enum import IntFlag
from typing import Any


class Intent(IntFlag):
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15


PRIVILEGED = int(Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT)

# Application flags Discord reports when a privileged intent is enabled for a (small) bot.
_APP_FLAG_FOR_INTENT = {
    Intent.GUILD_PRESENCES: 1 << 13,
    Intent.GUILD_MEMBERS: 1 << 15,
    Intent.MESSAGE_CONTENT: 1 << 19,
}

_GUILD_EVENTS = {
    "GUILD_CREATE": Intent.GUILDS,
    "GUILD_UPDATE": Intent.GUILDS,
    "GUILD_DELETE": Intent.GUILDS,
    "GUILD_ROLE_CREATE": Intent.GUILDS,
    "GUILD_ROLE_UPDATE": Intent.GUILDS,
    "GUILD_ROLE_DELETE": Intent.GUILDS,
    "CHANNEL_CREATE": Intent.GUILDS,
    "CHANNEL_UPDATE": Intent.GUILDS,
    "CHANNEL_DELETE": Intent.GUILDS,
    "GUILD_MEMBER_ADD": Intent.GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": Intent.GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": Intent.GUILD_MEMBERS,
    "GUILD_BAN_ADD": Intent.GUILD_MODERATION,
    "GUILD_BAN_REMOVE": Intent.GUILD_MODERATION,
    "GUILD_AUDIT_LOG_ENTRY_CREATE": Intent.GUILD_MODERATION,
    "VOICE_STATE_UPDATE": Intent.GUILD_VOICE_STATES,
    "PRESENCE_UPDATE": Intent.GUILD_PRESENCES,
    "MESSAGE_CREATE": Intent.GUILD_MESSAGES,
    "MESSAGE_UPDATE": Intent.GUILD_MESSAGES,
    "MESSAGE_DELETE": Intent.GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": Intent.GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": Intent.GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": Intent.GUILD_MESSAGE_REACTIONS,
    "TYPING_START": Intent.GUILD_MESSAGE_TYPING,
}

_DM_EVENTS = {
    "MESSAGE_CREATE": Intent.DIRECT_MESSAGES,
    "MESSAGE_UPDATE": Intent.DIRECT_MESSAGES,
    "MESSAGE_DELETE": Intent.DIRECT_MESSAGES,
    "MESSAGE_REACTION_ADD": Intent.DIRECT_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": Intent.DIRECT_MESSAGE_REACTIONS,
    "TYPING_START": Intent.DIRECT_MESSAGE_TYPING,
}

# Events about the bot's own member arrive whatever its intents.
_SELF_EXEMPT = {"GUILD_MEMBER_UPDATE"}


def application_flags(privileged_intents: int) -> int:
    flags = 0
    for intent, flag in _APP_FLAG_FOR_INTENT.items():
        if privileged_intents & intent:
            flags |= flag
    return flags


def wants(intents: int, event: str, *, in_guild: bool, about_self: bool = False) -> bool:
    if about_self and event in _SELF_EXEMPT:
        return True
    table = _GUILD_EVENTS if in_guild else _DM_EVENTS
    needed = table.get(event)
    return needed is None or bool(intents & needed)


def can_see_content(message: dict[str, Any], bot_id: int, has_content_intent: bool) -> bool:
    if has_content_intent or "guild_id" not in message:
        return True
    if int(message["author"]["id"]) == bot_id:
        return True
    return any(int(m["id"]) == bot_id for m in message.get("mentions", []))


def redact_content(message: dict[str, Any]) -> dict[str, Any]:
    """The fields Discord empties when a bot lacks MESSAGE_CONTENT."""
    return {**message, "content": "", "embeds": [], "attachments": [], "components": []}
