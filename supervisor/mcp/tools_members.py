"""Members: listing, roles, bans, kicks, timeouts, nicknames and voice."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from supervisor.mcp.catalogue import Call, ToolError, boolean, integer, string, tool
from supervisor.mcp.tools_roles import role_of

MAX_TIMEOUT = dt.timedelta(days=28)  # Discord's limit
_DURATION = re.compile(r"^(\d+)\s*([dhms]?)$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 60}  # a bare number means minutes, as in the original


def parse_timeout(text: str) -> dt.timedelta:
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ToolError("duration must be like 10m, 2h, 1d or 30s (a bare number means minutes)")
    length = dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if length > MAX_TIMEOUT:
        raise ToolError("duration must be at most 28 days")
    return length


def member_line(member: dict[str, Any]) -> str:
    user = member.get("user") or {}
    nick = f" (nick: {member['nick']})" if member.get("nick") else ""
    bot = " [bot]" if user.get("bot") else ""
    return f"{user.get('username', '?')}{nick}{bot} | ID: {user.get('id', '?')}"


def _guild_id(call: Call) -> int:
    return call.require_guild().id


async def _member(call: Call) -> dict[str, Any]:
    user_id = call.snowflake("user_id")
    return await call.api("GET", "/guilds/{guild_id}/members/{user_id}", guild_id=_guild_id(call), user_id=user_id)


def _reason(call: Call) -> str | None:
    return call.text("reason", required=False, max_length=512)


_USER: dict[str, Any] = {"user_id": string("user ID")}


@tool("list_members", "The server's members.", limit=integer("1-1000, default 100"),
      after=string("list members after this user ID"))
async def list_members(call: Call) -> str:
    params: dict[str, Any] = {"limit": call.number("limit", default=100, low=1, high=1000)}
    after = call.snowflake("after", required=False)
    if after:
        params["after"] = after
    members = await call.api("GET", "/guilds/{guild_id}/members", params=params, guild_id=_guild_id(call))
    return f"{len(members)} member(s):\n" + "\n".join(member_line(m) for m in members)


@tool("get_member", "One member: name, nickname, roles, join date, timeout.", required=("user_id",), **_USER)
async def get_member(call: Call) -> str:
    member = await _member(call)
    lines = [member_line(member), f"Roles: {', '.join(member.get('roles', [])) or 'none'}",
             f"Joined: {member.get('joined_at', 'unknown')}"]
    if member.get("communication_disabled_until"):
        lines.append(f"Timed out until: {member['communication_disabled_until']}")
    return "\n".join(lines)


async def _role_change(call: Call, *, add: bool) -> str:
    role = await role_of(call)
    user_id = call.snowflake("user_id")
    await call.api("PUT" if add else "DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                   guild_id=_guild_id(call), user_id=user_id, role_id=role["id"], reason=_reason(call))
    return f"{'Gave' if add else 'Removed'} role {role['name']} {'to' if add else 'from'} {user_id}"


_ROLE_ARGS: dict[str, Any] = {"user_id": string("user ID"), "role_id": string("role ID"),
                               "reason": string("audit log reason")}
tool("assign_role", "Give a member a role.", required=("user_id", "role_id"),
     **_ROLE_ARGS)(lambda call: _role_change(call, add=True))
tool("remove_role", "Take a role from a member.", required=("user_id", "role_id"),
     **_ROLE_ARGS)(lambda call: _role_change(call, add=False))


@tool("ban_member", "Ban a user from the server.", required=("user_id",), user_id=string("user ID"),
      reason=string("audit log reason"), delete_message_days=integer("0-7 days of their messages to delete"))
async def ban_member(call: Call) -> str:
    user_id = call.snowflake("user_id")
    days = call.number("delete_message_days", default=0, low=0, high=7)
    await call.api("PUT", "/guilds/{guild_id}/bans/{user_id}", guild_id=_guild_id(call), user_id=user_id,
                   json={"delete_message_seconds": days * 86400}, reason=_reason(call))
    return f"Banned {user_id}"


@tool("unban_member", "Lift a user's ban.", required=("user_id",), user_id=string("user ID"),
      reason=string("audit log reason"))
async def unban_member(call: Call) -> str:
    user_id = call.snowflake("user_id")
    await call.api("DELETE", "/guilds/{guild_id}/bans/{user_id}", guild_id=_guild_id(call), user_id=user_id,
                   reason=_reason(call))
    return f"Unbanned {user_id}"


@tool("kick_member", "Kick a member.", required=("user_id",), user_id=string("user ID"),
      reason=string("audit log reason"))
async def kick_member(call: Call) -> str:
    user_id = call.snowflake("user_id")
    await call.api("DELETE", "/guilds/{guild_id}/members/{user_id}", guild_id=_guild_id(call), user_id=user_id,
                   reason=_reason(call))
    return f"Kicked {user_id}"


@tool("timeout_member", "Time a member out (the reason goes to the audit log).", required=("user_id", "duration"),
      user_id=string("user ID"), duration=string("10m, 2h, 1d, 30s; a bare number means minutes; at most 28d"),
      reason=string("audit log reason"))
async def timeout_member(call: Call) -> str:
    user_id = call.snowflake("user_id")
    until = dt.datetime.now(dt.UTC) + parse_timeout(call.text("duration") or "")
    await call.api("PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=_guild_id(call), user_id=user_id,
                   json={"communication_disabled_until": until.isoformat()}, reason=_reason(call))
    return f"Timed out {user_id} until {until.isoformat(timespec='seconds')}"


@tool("remove_timeout", "End a member's timeout.", required=("user_id",), user_id=string("user ID"),
      reason=string("audit log reason"))
async def remove_timeout(call: Call) -> str:
    user_id = call.snowflake("user_id")
    await call.api("PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=_guild_id(call), user_id=user_id,
                   json={"communication_disabled_until": None}, reason=_reason(call))
    return f"Removed the timeout of {user_id}"


@tool("set_nickname", "Set or clear a member's nickname.", required=("user_id",), user_id=string("user ID"),
      nickname=string("1-32 characters; empty or omitted clears it"))
async def set_nickname(call: Call) -> str:
    user_id = call.snowflake("user_id")
    nickname = call.text("nickname", required=False, max_length=32) or None
    await call.api("PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=_guild_id(call), user_id=user_id,
                   json={"nick": nickname})
    return f"Nickname of {user_id} set to {nickname}" if nickname else f"Nickname of {user_id} cleared"


@tool("get_bans", "The server's bans.", limit=integer("1-255, default 100"), after=string("bans after this user ID"))
async def get_bans(call: Call) -> str:
    params: dict[str, Any] = {"limit": call.number("limit", default=100, low=1, high=255)}
    after = call.snowflake("after", required=False)
    if after:
        params["after"] = after
    bans = await call.api("GET", "/guilds/{guild_id}/bans", params=params, guild_id=_guild_id(call))
    lines = [f"{b['user'].get('username', '?')} | ID: {b['user']['id']} | reason: {b.get('reason') or 'none'}"
             for b in bans]
    return f"{len(lines)} ban(s):\n" + "\n".join(lines)


async def _voice(call: Call, fields: dict[str, Any], done: str) -> str:
    user_id = call.snowflake("user_id")
    await call.api("PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=_guild_id(call), user_id=user_id,
                   json=fields)
    return done.format(user=user_id)


@tool("move_voice_member", "Move a member to another voice channel.", required=("user_id", "channel_id"),
      user_id=string("user ID"), channel_id=string("voice channel ID"))
async def move_voice_member(call: Call) -> str:
    channel = await call.channel()
    return await _voice(call, {"channel_id": channel["id"]}, f"Moved {{user}} to #{channel['name']}")


@tool("disconnect_voice_member", "Disconnect a member from voice.", required=("user_id",), user_id=string("user ID"))
async def disconnect_voice_member(call: Call) -> str:
    return await _voice(call, {"channel_id": None}, "Disconnected {user} from voice")


@tool("modify_voice_state", "Server-mute and/or deafen a member.", required=("user_id",), user_id=string("user ID"),
      mute=boolean("server mute"), deafen=boolean("server deafen"))
async def modify_voice_state(call: Call) -> str:
    fields = {key: call.flag(arg) for key, arg in (("mute", "mute"), ("deaf", "deafen")) if call.flag(arg) is not None}
    if not fields:
        raise ToolError("give mute and/or deafen")
    return await _voice(call, fields, "Voice state of {user} updated: " + ", ".join(f"{k}={v}" for k, v in
                                                                                     fields.items()))
