"""Channels, voice and stage channels, and permission overwrites."""

from __future__ import annotations

from typing import Any

from supervisor.mcp.catalogue import Call, ToolError, boolean, integer, string, tool

CHANNEL_TYPES = {"text": 0, "voice": 2, "category": 4, "stage": 13, "forum": 15}
TYPE_NAMES = {number: name for name, number in CHANNEL_TYPES.items()} | {5: "announcement"}


def require_voice(channel: dict[str, Any]) -> None:
    """A voice or stage channel, else a sentence saying what it is (before Discord is asked)."""
    kind = channel.get("type", -1)
    if kind not in (CHANNEL_TYPES["voice"], CHANNEL_TYPES["stage"]):
        name = TYPE_NAMES.get(kind, kind)
        raise ToolError(f"channel {channel['id']} (#{channel['name']}) is a {name} channel, not a voice channel")


async def _category(call: Call) -> int | None:
    """The optional category_id, verified to be a category of the resolved guild."""
    category_id = call.snowflake("category_id", required=False)
    if category_id is None:
        return None
    category = await call.channel("category_id")
    if category.get("type") != CHANNEL_TYPES["category"]:
        raise ToolError(f"category_id {category_id} is not a category")
    return category_id


async def _create(call: Call, kind: int, extra: dict[str, Any]) -> str:
    guild = call.require_guild()
    body = {"name": call.text("name", min_length=1, max_length=100), "type": kind, **extra}
    category = await _category(call)
    if category is not None:
        body["parent_id"] = str(category)
    created = await call.api("POST", "/guilds/{guild_id}/channels", guild_id=guild.id, json=body)
    return f"Created {TYPE_NAMES.get(kind, kind)} channel #{created['name']} (ID: {created['id']})"


def _voice_fields(call: Call, *, bitrate_default: int | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if bitrate_default is not None or "bitrate" in call.args:
        fields["bitrate"] = call.number("bitrate", default=bitrate_default, low=8000, high=384000)
    if "user_limit" in call.args:
        fields["user_limit"] = call.number("user_limit", low=0, high=99)
    return fields


@tool("list_channels", "The server's channels with their types and IDs.")
async def list_channels(call: Call) -> str:
    guild = call.require_guild()
    channels = await call.api("GET", "/guilds/{guild_id}/channels", guild_id=guild.id)
    channels.sort(key=lambda c: (c.get("position", 0), int(c["id"])))
    lines = [f"#{c['name']} ({TYPE_NAMES.get(c.get('type'), c.get('type'))}) | ID: {c['id']}"
             + (f" | category: {c['parent_id']}" if c.get("parent_id") else "") for c in channels]
    return f"{len(lines)} channel(s):\n" + "\n".join(lines)


@tool("create_channel", "Create a channel.", required=("name",), name=string("1-100 characters"),
      channel_type=string("text, voice, category, forum or stage (default text)"),
      category_id=string("parent category ID"), topic=string("topic (text channels)"), nsfw=boolean("age-restricted"))
async def create_channel(call: Call) -> str:
    kind_name = call.text("channel_type", required=False) or "text"
    if kind_name not in CHANNEL_TYPES:
        raise ToolError(f"channel_type must be one of {', '.join(CHANNEL_TYPES)}")
    extra: dict[str, Any] = {}
    topic = call.text("topic", required=False, max_length=1024)
    if topic is not None:
        extra["topic"] = topic
    nsfw = call.flag("nsfw")
    if nsfw is not None:
        extra["nsfw"] = nsfw
    return await _create(call, CHANNEL_TYPES[kind_name], extra)


@tool("create_voice_channel", "Create a voice channel.", required=("name",), name=string("1-100 characters"),
      bitrate=integer("8000-384000, default 64000"), user_limit=integer("0-99, 0 = no limit"),
      category_id=string("parent category ID"))
async def create_voice_channel(call: Call) -> str:
    return await _create(call, CHANNEL_TYPES["voice"], _voice_fields(call, bitrate_default=64000))


@tool("create_stage_channel", "Create a stage channel.", required=("name",), name=string("1-100 characters"),
      category_id=string("parent category ID"))
async def create_stage_channel(call: Call) -> str:
    return await _create(call, CHANNEL_TYPES["stage"], {})


@tool("delete_channel", "Delete a channel.", required=("channel_id",), channel_id=string("channel ID"))
async def delete_channel(call: Call) -> str:
    channel = await call.channel()
    await call.api("DELETE", "/channels/{channel_id}", channel_id=channel["id"])
    return f"Deleted channel #{channel['name']} ({channel['id']})"


async def _edit(call: Call, fields: dict[str, Any], *, voice: bool = False) -> str:
    """PATCH the channel; with `voice`, only a voice or stage channel."""
    channel = await call.channel()
    if voice:
        require_voice(channel)
    category = await _category(call)
    if category is not None:
        fields["parent_id"] = str(category)
    if not fields:
        raise ToolError("nothing to change: give at least one field")
    edited = await call.api("PATCH", "/channels/{channel_id}", channel_id=channel["id"], json=fields)
    return f"Updated channel #{edited['name']} ({edited['id']}): {', '.join(sorted(fields))}"


@tool("edit_channel", "Rename a channel or change its topic, NSFW flag, slowmode or category.",
      required=("channel_id",), channel_id=string("channel ID"), name=string("1-100 characters"),
      topic=string("topic"), nsfw=boolean("age-restricted"), slowmode_seconds=integer("0-21600"),
      category_id=string("parent category ID"))
async def edit_channel(call: Call) -> str:
    fields: dict[str, Any] = {}
    if "name" in call.args:
        fields["name"] = call.text("name", min_length=1, max_length=100)
    if "topic" in call.args:
        fields["topic"] = call.text("topic", max_length=1024)
    if call.flag("nsfw") is not None:
        fields["nsfw"] = call.flag("nsfw")
    if "slowmode_seconds" in call.args:
        fields["rate_limit_per_user"] = call.number("slowmode_seconds", low=0, high=21600)
    return await _edit(call, fields)


@tool("move_channel", "Move a channel to a position and/or category.", required=("channel_id",),
      channel_id=string("channel ID"), position=integer("0 or more"), category_id=string("parent category ID"))
async def move_channel(call: Call) -> str:
    fields: dict[str, Any] = {}
    if "position" in call.args:
        fields["position"] = call.number("position", low=0, high=500)
    return await _edit(call, fields)


@tool("edit_voice_channel", "Change a voice channel's name, bitrate, user limit, category or region.",
      required=("channel_id",), channel_id=string("voice channel ID"), name=string("1-100 characters"),
      bitrate=integer("8000-384000"), user_limit=integer("0-99"), category_id=string("parent category ID"),
      rtc_region=string('voice region; "" for automatic'))
async def edit_voice_channel(call: Call) -> str:
    fields = _voice_fields(call, bitrate_default=None)
    if "name" in call.args:
        fields["name"] = call.text("name", min_length=1, max_length=100)
    if "rtc_region" in call.args:
        fields["rtc_region"] = call.text("rtc_region", max_length=32) or None
    return await _edit(call, fields, voice=True)


@tool("set_channel_permissions", "Set a role's or member's allowed and denied permissions on a channel.",
      required=("channel_id", "target_type", "target_id"), channel_id=string("channel ID"),
      target_type=string("role or member"), target_id=string("role or user ID"),
      allow=string("allowed permission bits, decimal (default 0)"), deny=string("denied bits, decimal (default 0)"))
async def set_channel_permissions(call: Call) -> str:
    channel = await call.channel()
    kind = call.text("target_type")
    if kind not in ("role", "member"):
        raise ToolError("target_type must be role or member")
    target = call.snowflake("target_id")
    body = {"type": 0 if kind == "role" else 1, "allow": str(call.bits("allow")), "deny": str(call.bits("deny"))}
    await call.api("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", channel_id=channel["id"],
                   overwrite_id=target, json=body)
    return f"Permissions set on #{channel['name']} for {kind} {target}: allow {body['allow']}, deny {body['deny']}"
