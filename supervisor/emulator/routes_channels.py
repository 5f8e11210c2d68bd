"""Channel routes: channels, overwrites, typing."""

from __future__ import annotations

from typing import Any

from . import errors, payloads
from .errors import FormErrors
from .models import (
    GUILD_NEWS,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
    OVERWRITE_MEMBER,
    OVERWRITE_ROLE,
    Channel,
    Overwrite,
)
from .permissions import P
from .rest import NO_CONTENT, Ctx, Reply, RouteSpec

_EDITABLE = ("name", "topic", "position", "nsfw", "rate_limit_per_user", "parent_id", "type")
_VOICE_EDITABLE = ("bitrate", "user_limit", "rtc_region")
MAX_BITRATE = 96000  # a server without boosts (premium tier 0)


def _voice_changes(channel_type: int, body: dict[str, Any], form: FormErrors) -> dict[str, Any]:
    """bitrate, user_limit and rtc_region of a voice or stage channel, checked as Discord does; ignored on
    other channel types, as Discord does."""
    if channel_type not in (GUILD_VOICE, GUILD_STAGE_VOICE):
        return {}
    changes = {key: body[key] for key in _VOICE_EDITABLE if key in body}
    if "bitrate" in changes:
        bitrate = int(changes["bitrate"])
        if bitrate < 8000:
            form.add(("bitrate",), "NUMBER_TYPE_MIN", "int value should be greater than or equal to 8000.")
        elif bitrate > MAX_BITRATE:
            form.add(("bitrate",), "NUMBER_TYPE_MAX", f"int value should be less than or equal to {MAX_BITRATE}.")
        changes["bitrate"] = bitrate
    if "user_limit" in changes:
        changes["user_limit"] = int(changes["user_limit"] or 0)
        if not 0 <= changes["user_limit"] <= 99:
            form.add(("user_limit",), "NUMBER_TYPE_MAX", "int value should be less than or equal to 99.")
    return changes


def _channel_name(raw: Any, channel_type: int, form: FormErrors) -> str:
    name = str(raw or "")
    if not 1 <= len(name) <= 100:
        form.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if channel_type in (GUILD_TEXT, GUILD_NEWS):
        # Discord normalises text channel names.
        name = "-".join(name.lower().split())
    return name


def _overwrites(raw: Any, form: FormErrors) -> list[Overwrite]:
    result = []
    for i, item in enumerate(raw or []):
        kind = item.get("type")
        if kind in ("role", "member"):
            kind = OVERWRITE_ROLE if kind == "role" else OVERWRITE_MEMBER
        if kind not in (OVERWRITE_ROLE, OVERWRITE_MEMBER) or not str(item.get("id", "")).isdigit():
            form.add(("permission_overwrites", i), "BASE_TYPE_REQUIRED", "This field is required")
            continue
        result.append(Overwrite(int(item["id"]), kind, int(item.get("allow") or 0), int(item.get("deny") or 0)))
    return result


def _apply(channel: Channel, body: dict[str, Any], form: FormErrors) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in _EDITABLE:
        if key not in body:
            continue
        value = body[key]
        if key == "name":
            value = _channel_name(value, channel.type, form)
        elif key == "parent_id":
            value = None if value is None else int(value)
        elif key == "topic" and value is not None and len(value) > 1024:
            form.max_length(("topic",), 1024)
        changes[key] = value
    if "permission_overwrites" in body:
        changes["overwrites"] = _overwrites(body["permission_overwrites"], form)
    changes.update(_voice_changes(channel.type, body, form))
    form.raise_if_any()
    for key, value in changes.items():
        setattr(channel, key, value)
    return changes


async def create_channel(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.MANAGE_CHANNELS)
    body = ctx.json()
    if body.get("permission_overwrites"):
        ctx.require_guild(guild, P.MANAGE_ROLES)
    form = FormErrors()
    channel_type = int(body.get("type") or GUILD_TEXT)
    name = _channel_name(body.get("name"), channel_type, form)
    _voice_changes(channel_type, body, form)
    form.raise_if_any()
    channel = ctx.state.create_channel(guild, name, channel_type)
    _apply(channel, {k: v for k, v in body.items() if k not in ("name", "type")}, FormErrors())
    ctx.ops.audit(guild, "channel_create", ctx.bot.id, channel.id, ctx.reason)
    ctx.ops.channel_created(channel)
    return 201, payloads.channel(ctx.state, channel)


async def list_channels(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    return 200, [payloads.channel(ctx.state, c) for c in guild.channels.values()]


async def get_channel(ctx: Ctx) -> Reply:
    return 200, payloads.channel(ctx.state, ctx.channel())


async def edit_channel(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    if channel.guild_id is None:
        raise errors.missing_permissions()
    ctx.require_channel(channel, P.MANAGE_CHANNELS)
    body = ctx.json()
    if "permission_overwrites" in body:
        ctx.require_channel(channel, P.MANAGE_ROLES)
    changes = _apply(channel, body, FormErrors())
    guild = ctx.state.guilds[channel.guild_id]
    ctx.ops.audit(
        guild,
        "channel_update",
        ctx.bot.id,
        channel.id,
        ctx.reason,
        **{k: v for k, v in changes.items() if k != "overwrites"},
    )
    ctx.ops.channel_updated(channel)
    return 200, payloads.channel(ctx.state, channel)


async def delete_channel(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    data = payloads.channel(ctx.state, channel)
    if channel.guild_id is None:
        return 200, data  # closing a DM keeps it server-side
    ctx.require_channel(channel, P.MANAGE_CHANNELS)
    guild = ctx.state.guilds[channel.guild_id]
    ctx.ops.delete_channel(channel)
    ctx.ops.audit(guild, "channel_delete", ctx.bot.id, channel.id, ctx.reason)
    return 200, data


async def put_overwrite(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    if channel.guild_id is None:
        raise errors.missing_permissions()
    ctx.require_channel(channel, P.MANAGE_ROLES)
    body = ctx.json()
    form = FormErrors()
    found = _overwrites([{**body, "id": ctx.params["overwrite_id"]}], form)
    form.raise_if_any()
    overwrite = found[0]
    channel.overwrites = [o for o in channel.overwrites if o.id != overwrite.id] + [overwrite]
    guild = ctx.state.guilds[channel.guild_id]
    ctx.ops.audit(guild, "overwrite_update", ctx.bot.id, channel.id, ctx.reason, target=overwrite.id)
    ctx.ops.channel_updated(channel)
    return NO_CONTENT


async def delete_overwrite(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    if channel.guild_id is None:
        raise errors.missing_permissions()
    ctx.require_channel(channel, P.MANAGE_ROLES)
    target = ctx.id("overwrite_id")
    channel.overwrites = [o for o in channel.overwrites if o.id != target]
    guild = ctx.state.guilds[channel.guild_id]
    ctx.ops.audit(guild, "overwrite_delete", ctx.bot.id, channel.id, ctx.reason, target=target)
    ctx.ops.channel_updated(channel)
    return NO_CONTENT


async def typing(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    ctx.require_channel(channel, P.SEND_MESSAGES)
    ctx.ops.typing(channel, ctx.bot.id)
    return NO_CONTENT


ROUTES: list[RouteSpec] = [
    ("GET", "/guilds/{guild_id}/channels", list_channels),
    ("POST", "/guilds/{guild_id}/channels", create_channel),
    ("GET", "/channels/{channel_id}", get_channel),
    ("PATCH", "/channels/{channel_id}", edit_channel),
    ("DELETE", "/channels/{channel_id}", delete_channel),
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", put_overwrite),
    ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}", delete_overwrite),
    ("POST", "/channels/{channel_id}/typing", typing),
]
