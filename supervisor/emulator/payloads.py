"""Records -> the JSON objects Discord sends (fields discord.py reads when it builds its models)."""

from __future__ import annotations

import copy
from typing import Any

from .models import GUILD_STAGE_VOICE, GUILD_VOICE, Attachment, Channel, Guild, Member, Message, Role, User, VoiceState
from .snowflake import iso
from .state import State


def user(u: User) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(u.id),
        "username": u.username,
        "discriminator": u.discriminator,
        "global_name": u.global_name,
        "avatar": u.avatar,
        "public_flags": 0,
    }
    if u.bot:
        data["bot"] = True
    return data


def member(state: State, m: Member, *, with_user: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "roles": [str(r) for r in m.roles],
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": m.deaf,
        "mute": m.mute,
        "flags": m.flags,
        "pending": False,
        "communication_disabled_until": iso(m.communication_disabled_until),
    }
    if with_user:
        data["user"] = user(state.users[m.user_id])
    return data


def guild_member_event(state: State, m: Member) -> dict[str, Any]:
    return {**member(state, m), "guild_id": str(m.guild_id)}


def role(r: Role) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
    }
    if r.tags is not None:
        data["tags"] = r.tags
    return data


def channel(state: State, c: Channel) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(c.id),
        "type": c.type,
        "last_message_id": None if c.last_message_id is None else str(c.last_message_id),
        "flags": 0,
    }
    if c.guild_id is None:
        data["recipients"] = [user(state.users[r]) for r in c.recipients]
        return data
    data.update(
        guild_id=str(c.guild_id),
        name=c.name,
        position=c.position,
        parent_id=None if c.parent_id is None else str(c.parent_id),
        topic=c.topic,
        nsfw=c.nsfw,
        rate_limit_per_user=c.rate_limit_per_user,
        permission_overwrites=[
            {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)} for o in c.overwrites
        ],
    )
    if c.type in (GUILD_VOICE, GUILD_STAGE_VOICE):
        data.update(bitrate=c.bitrate, user_limit=c.user_limit, rtc_region=c.rtc_region)
    return data


def guild(g: Guild, *, with_counts: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "roles": [role(r) for r in g.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": [],
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "max_members": 500000,
    }
    if with_counts:
        data["approximate_member_count"] = len(g.members)
        data["approximate_presence_count"] = 0
    return data


def voice_state(state: State, v: VoiceState | None, guild_id: int, user_id: int) -> dict[str, Any]:
    """A VOICE_STATE_UPDATE (and GUILD_CREATE.voice_states entry); `v` None is the user having left voice."""
    m = state.guilds[guild_id].members.get(user_id)
    data: dict[str, Any] = {
        "guild_id": str(guild_id),
        "channel_id": None if v is None else str(v.channel_id),
        "user_id": str(user_id),
        "session_id": "" if v is None else v.session_id,
        "deaf": bool(m and m.deaf),
        "mute": bool(m and m.mute),
        "self_deaf": bool(v and v.self_deaf),
        "self_mute": bool(v and v.self_mute),
        "self_video": bool(v and v.self_video),
        "self_stream": bool(v and v.self_stream),
        "suppress": bool(v and v.suppress),
        "request_to_speak_timestamp": None,
    }
    if m is not None:
        data["member"] = member(state, m)
    return data


def guild_create(state: State, g: Guild, bot_id: int, *, all_members: bool, voice: bool = False) -> dict[str, Any]:
    """GUILD_CREATE for one bot: with the members intent every member (so the guild counts as chunked); with the
    voice-states intent who is in which voice channel (and those members, as Discord does)."""
    members = list(g.members.values()) if all_members else [g.members[bot_id]]
    if voice and not all_members:
        members += [g.members[u] for u in g.voice_states if u != bot_id and u in g.members]
    return {
        **guild(g),
        "joined_at": iso(g.members[bot_id].joined_at),
        "large": len(g.members) >= 250,
        "unavailable": False,
        "member_count": len(members) if all_members else len(g.members),
        "members": [member(state, m) for m in members],
        "channels": [channel(state, c) for c in g.channels.values()],
        "threads": [],
        "presences": [],
        "voice_states": [voice_state(state, v, g.id, v.user_id) for v in g.voice_states.values()] if voice else [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def attachment(base_url: str, message: Message, a: Attachment) -> dict[str, Any]:
    url = f"{base_url}/attachments/{message.channel_id}/{a.id}/{a.filename}"
    return {
        "id": str(a.id),
        "filename": a.filename,
        "size": len(a.data),
        "url": url,
        "proxy_url": url,
        "content_type": a.content_type,
        "description": a.description,
    }


def emoji(key: str) -> dict[str, Any]:
    # Custom emoji keys are "name:id"; anything else is a unicode emoji.
    name, _, emoji_id = key.partition(":")
    if emoji_id.isdigit():
        return {"id": emoji_id, "name": name, "animated": False}
    return {"id": None, "name": key}


def message(state: State, m: Message, base_url: str, *, resolve_reference: bool = True) -> dict[str, Any]:
    author = state.users[m.author_id]
    guild_obj = state.guilds.get(m.guild_id) if m.guild_id is not None else None
    mentions = []
    for uid in m.mentions:
        u = state.users.get(uid)
        if u is None:
            continue
        entry = user(u)
        if guild_obj is not None and uid in guild_obj.members:
            entry["member"] = member(state, guild_obj.members[uid], with_user=False)
        mentions.append(entry)
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "type": m.type,
        "author": user(author),
        "content": m.content,
        "timestamp": iso(m.timestamp),
        "edited_timestamp": iso(m.edited_timestamp),
        "tts": m.tts,
        "mention_everyone": m.mention_everyone,
        "mentions": mentions,
        "mention_roles": [str(r) for r in m.mention_roles],
        "attachments": [attachment(base_url, m, a) for a in m.attachments],
        # Copies: payloads wait in replay buffers and must not change if the model does.
        "embeds": copy.deepcopy(m.embeds),
        "components": copy.deepcopy(m.components),
        "pinned": False,
        "flags": m.flags,
    }
    if m.reactions:
        data["reactions"] = [
            {
                "emoji": emoji(key),
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": False,
                "me_burst": False,
                "burst_colors": [],
            }
            for key, users in m.reactions.items()
            if users
        ]
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
        data["application_id"] = str(m.webhook_id)
    if m.interaction is not None:
        meta: dict[str, Any] = {
            "id": str(m.interaction.id),
            "type": m.interaction.type,
            "user": user(state.users[m.interaction.user_id]),
            "authorizing_integration_owners": {},
        }
        if m.interaction.interacted_message_id is not None:
            meta["interacted_message_id"] = str(m.interaction.interacted_message_id)
        data["interaction_metadata"] = meta
    if guild_obj is not None:
        data["guild_id"] = str(guild_obj.id)
        if m.author_id in guild_obj.members:
            data["member"] = member(state, guild_obj.members[m.author_id], with_user=False)
    if m.reference_id is not None:
        ref: dict[str, Any] = {"type": 0, "message_id": str(m.reference_id), "channel_id": str(m.channel_id)}
        if guild_obj is not None:
            ref["guild_id"] = str(guild_obj.id)
        data["message_reference"] = ref
        if resolve_reference:
            target = state.messages.get(m.channel_id, {}).get(m.reference_id)
            data["referenced_message"] = (
                None if target is None else message(state, target, base_url, resolve_reference=False)
            )
    return data
