"""Guild routes: guild, members (edit, timeout, kick, roles), bans and roles, with hierarchy rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from . import errors, payloads
from .errors import APIError, FormErrors
from .intents import Intent
from .models import GUILD_VOICE, Guild, Member, Role
from .permissions import ALL, P, base_permissions, can_manage_role, channel_permissions, outranks, top_role_key
from .rest import NO_CONTENT, Ctx, Reply, RouteSpec
from .snowflake import utcnow
from .voice_states import STAGE_VOICE

MAX_TIMEOUT = dt.timedelta(days=28)


def _require_outranks(guild: Guild, actor: Member, target: Member) -> None:
    if not outranks(guild, actor, target):
        raise errors.missing_permissions()


def _require_manageable(ctx: Ctx, guild: Guild, role: Role) -> None:
    if role.id == guild.id or role.managed or not can_manage_role(guild, ctx.me(guild), role):
        raise errors.missing_permissions()


def _require_grantable(ctx: Ctx, guild: Guild, permissions: int) -> None:
    # A role cannot be given permissions its editor lacks (administrators and the owner have them all).
    mine = ctx.guild_perms(guild)
    if mine != ALL and permissions & ~mine:
        raise errors.missing_permissions()


def _parse_time(raw: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- guild and members ----------------------------------------------------------------------------


async def get_guild(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    with_counts = ctx.query.get("with_counts", "false").lower() == "true"
    return 200, payloads.guild(guild, with_counts=with_counts)


async def get_member(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    return 200, payloads.member(ctx.state, ctx.state.member(guild, ctx.id("user_id")))


async def list_members(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    if not ctx.app.privileged_intents & Intent.GUILD_MEMBERS:
        raise errors.missing_access()
    limit = max(1, min(int(ctx.query.get("limit", 1)), 1000))
    after = int(ctx.query.get("after", 0))
    members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
    return 200, [payloads.member(ctx.state, m) for m in members[:limit]]


async def edit_member(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    target = ctx.state.member(guild, ctx.id("user_id"))
    actor = ctx.me(guild)
    is_self = target.user_id == actor.user_id
    perms = ctx.guild_perms(guild)
    body = ctx.json()
    form = FormErrors()
    changes: dict[str, Any] = {}

    def need(bit: int) -> None:
        if not perms & bit:
            raise errors.missing_permissions()

    if not is_self and body.keys() & {"nick", "roles", "communication_disabled_until"}:
        _require_outranks(guild, actor, target)
    if "nick" in body:
        need(P.CHANGE_NICKNAME if is_self else P.MANAGE_NICKNAMES)
        nick = body["nick"] or None
        if nick is not None and len(nick) > 32:
            form.max_length(("nick",), 32)
        changes["nick"] = nick
    if "roles" in body:
        need(P.MANAGE_ROLES)
        wanted = list(dict.fromkeys(int(r) for r in body["roles"] or []))
        for role_id in set(wanted) ^ set(target.roles):
            _require_manageable(ctx, guild, ctx.state.role(guild, role_id))
        changes["roles"] = wanted
    if "communication_disabled_until" in body:
        need(P.MODERATE_MEMBERS)
        raw = body["communication_disabled_until"]
        until = None if raw is None else _parse_time(str(raw))
        if until is not None:
            if is_self or base_permissions(guild, target) == ALL:
                raise errors.missing_permissions()  # nobody times out the owner, an admin or itself
            if until > utcnow() + MAX_TIMEOUT:
                form.add(
                    ("communication_disabled_until",),
                    "BASE_TYPE_BAD_TIME",
                    "Cannot time out a member for more than 28 days.",
                )
        changes["communication_disabled_until"] = until
    for flag, bit in (("mute", P.MUTE_MEMBERS), ("deaf", P.DEAFEN_MEMBERS)):
        if flag in body:
            need(bit)
            if target.user_id not in guild.voice_states:
                raise errors.APIError(400, 40032, "Target user is not connected to voice.")
            changes[flag] = bool(body[flag])
    move = _voice_move(ctx, guild, target, body, need)
    form.raise_if_any()
    for key, value in changes.items():
        setattr(target, key, value)
    ctx.ops.audit(guild, "member_update", actor.user_id, target.user_id, ctx.reason, **changes)
    ctx.ops.member_updated(guild, target)
    _apply_voice(ctx, guild, target, move, voice_changed="mute" in changes or "deaf" in changes)
    return 200, payloads.member(ctx.state, target)


_NO_MOVE = -1


def _voice_move(ctx: Ctx, guild: Guild, target: Member, body: dict[str, Any],
                need: Callable[[int], None]) -> int | None:
    """`channel_id` in a member edit: the voice channel to move them to, None to disconnect, _NO_MOVE if absent."""
    if "channel_id" not in body:
        return _NO_MOVE
    need(P.MOVE_MEMBERS)
    if target.user_id not in guild.voice_states:
        raise errors.APIError(400, 40032, "Target user is not connected to voice.")
    if body["channel_id"] is None:
        return None
    channel = ctx.state.channel(int(body["channel_id"]))
    if channel.guild_id != guild.id or channel.type not in (GUILD_VOICE, STAGE_VOICE):
        raise errors.APIError(400, 50024, "Cannot execute action on this channel type")
    if not channel_permissions(guild, channel, ctx.me(guild), utcnow()) & P.CONNECT:
        raise errors.missing_permissions()
    return channel.id


def _apply_voice(ctx: Ctx, guild: Guild, target: Member, move: int | None, *, voice_changed: bool) -> None:
    voice = ctx.ops.voice
    if voice is None:
        return
    current = guild.voice_states.get(target.user_id)
    if move is None:
        voice.leave(guild, target.user_id, forced=True)
    elif move != _NO_MOVE:
        voice.move(guild, target.user_id, move)
    elif voice_changed and current is not None:
        voice.set(guild, target.user_id, current.channel_id, current.session_id, self_mute=current.self_mute,
                  self_deaf=current.self_deaf)


async def kick(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.KICK_MEMBERS)
    target = ctx.state.member(guild, ctx.id("user_id"))
    _require_outranks(guild, ctx.me(guild), target)
    ctx.ops.kick(guild, target.user_id, ctx.bot.id, ctx.reason)
    return NO_CONTENT


async def _member_role(ctx: Ctx, *, add: bool) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.MANAGE_ROLES)
    target = ctx.state.member(guild, ctx.id("user_id"))
    role = ctx.state.role(guild, ctx.id("role_id"))
    _require_manageable(ctx, guild, role)
    if target.user_id != ctx.bot.id:
        _require_outranks(guild, ctx.me(guild), target)
    if add == (role.id in target.roles):
        return NO_CONTENT  # already in the requested state: Discord sends no event
    if add:
        target.roles.append(role.id)
    else:
        target.roles.remove(role.id)
    action = "member_role_add" if add else "member_role_remove"
    ctx.ops.audit(guild, action, ctx.bot.id, target.user_id, ctx.reason, role_id=role.id)
    ctx.ops.member_updated(guild, target)
    return NO_CONTENT


async def add_member_role(ctx: Ctx) -> Reply:
    return await _member_role(ctx, add=True)


async def remove_member_role(ctx: Ctx) -> Reply:
    return await _member_role(ctx, add=False)


# --- bans -------------------------------------------------------------------------------------------


def _ban_payload(ctx: Ctx, user_id: int, reason: str | None) -> dict[str, Any]:
    return {"user": payloads.user(ctx.state.users[user_id]), "reason": reason}


async def list_bans(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.BAN_MEMBERS)
    limit = max(1, min(int(ctx.query.get("limit", 1000)), 1000))
    bans = sorted(guild.bans.values(), key=lambda b: b.user_id)
    if "before" in ctx.query:
        bans = [b for b in bans if b.user_id < int(ctx.query["before"])][-limit:]
    else:
        bans = [b for b in bans if b.user_id > int(ctx.query.get("after", 0))][:limit]
    return 200, [_ban_payload(ctx, b.user_id, b.reason) for b in bans]


async def get_ban(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.BAN_MEMBERS)
    ban = guild.bans.get(ctx.id("user_id"))
    if ban is None:
        raise errors.unknown("Ban")
    return 200, _ban_payload(ctx, ban.user_id, ban.reason)


async def ban(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.BAN_MEMBERS)
    user = ctx.state.user(ctx.id("user_id"))
    target = guild.members.get(user.id)
    if target is not None:
        _require_outranks(guild, ctx.me(guild), target)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    seconds = body.get("delete_message_seconds", ctx.query.get("delete_message_seconds"))
    if seconds is None and "delete_message_days" in body:
        seconds = int(body["delete_message_days"]) * 86400
    seconds = int(seconds or 0)
    if not 0 <= seconds <= 604800:
        form = FormErrors()
        form.add(("delete_message_seconds",), "NUMBER_TYPE_MAX", "int value should be less than or equal to 604800.")
        form.raise_if_any()
    if user.id not in guild.bans:
        ctx.ops.ban(guild, user.id, ctx.bot.id, ctx.reason, seconds)
    return NO_CONTENT


async def unban(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.BAN_MEMBERS)
    user_id = ctx.id("user_id")
    if user_id not in guild.bans:
        raise errors.unknown("Ban")
    ctx.ops.unban(guild, user_id, ctx.bot.id, ctx.reason)
    return NO_CONTENT


# --- roles ------------------------------------------------------------------------------------------


def _role_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in body:
        name = str(body["name"] or "new role")
        if len(name) > 100:
            raise APIError(
                400,
                50035,
                "Invalid Form Body",
                {"name": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 100 or fewer in length."}]}},
            )
        fields["name"] = name
    if "permissions" in body and body["permissions"] is not None:
        fields["permissions"] = int(body["permissions"])
    colors = body.get("colors")
    if isinstance(colors, dict) and colors.get("primary_color") is not None:
        fields["color"] = int(colors["primary_color"])
    elif body.get("color") is not None:
        fields["color"] = int(body["color"])
    for key in ("hoist", "mentionable"):
        if key in body:
            fields[key] = bool(body[key])
    return fields


async def list_roles(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    return 200, [payloads.role(r) for r in guild.roles.values()]


async def get_role(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    return 200, payloads.role(ctx.state.role(guild, ctx.id("role_id")))


async def create_role(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.MANAGE_ROLES)
    fields = _role_fields(ctx.json() if ctx.body is not None else {})
    permissions = fields.pop("permissions", guild.everyone.permissions)
    _require_grantable(ctx, guild, permissions)
    # Discord puts a new role at the bottom (position 1) and shifts the others up.
    shifted = [r for r in guild.roles.values() if r.id != guild.id and r.position >= 1]
    for role in shifted:
        role.position += 1
    role = ctx.ops.create_role(guild, fields.pop("name", "new role"), permissions, 1, **fields)
    for other in shifted:
        ctx.ops.role_updated(guild, other)
    ctx.ops.audit(guild, "role_create", ctx.bot.id, role.id, ctx.reason)
    return 200, payloads.role(role)


async def edit_role(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.MANAGE_ROLES)
    role = ctx.state.role(guild, ctx.id("role_id"))
    fields = _role_fields(ctx.json())
    if role.id == guild.id:
        fields.pop("name", None)  # @everyone keeps its name and sits below everyone's top role
    else:
        _require_manageable(ctx, guild, role)
    if "permissions" in fields:
        _require_grantable(ctx, guild, fields["permissions"])
    for key, value in fields.items():
        setattr(role, key, value)
    ctx.ops.audit(guild, "role_update", ctx.bot.id, role.id, ctx.reason, **fields)
    ctx.ops.role_updated(guild, role)
    return 200, payloads.role(role)


async def move_roles(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.MANAGE_ROLES)
    if not isinstance(ctx.body, list):
        raise APIError(400, 50109, "The request body contains invalid JSON.")
    moves = [(ctx.state.role(guild, int(item["id"])), int(item["position"])) for item in ctx.body]
    me = ctx.me(guild)
    for role, position in moves:
        _require_manageable(ctx, guild, role)
        # Nobody can lift a role to or above their own top role.
        if me.user_id != guild.owner_id and position >= top_role_key(guild, me)[0]:
            raise errors.missing_permissions()
    for role, position in moves:
        role.position = position
        ctx.ops.role_updated(guild, role)
    ctx.ops.audit(guild, "role_update", ctx.bot.id, None, ctx.reason, positions=len(moves))
    return 200, [payloads.role(r) for r in guild.roles.values()]


async def delete_role(ctx: Ctx) -> Reply:
    guild = ctx.guild()
    ctx.require_guild(guild, P.MANAGE_ROLES)
    role = ctx.state.role(guild, ctx.id("role_id"))
    _require_manageable(ctx, guild, role)
    ctx.ops.delete_role(guild, role)
    ctx.ops.audit(guild, "role_delete", ctx.bot.id, role.id, ctx.reason)
    return NO_CONTENT


ROUTES: list[RouteSpec] = [
    ("GET", "/guilds/{guild_id}", get_guild),
    ("GET", "/guilds/{guild_id}/members", list_members),
    ("GET", "/guilds/{guild_id}/members/{user_id}", get_member),
    ("PATCH", "/guilds/{guild_id}/members/{user_id}", edit_member),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}", kick),
    ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", add_member_role),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", remove_member_role),
    ("GET", "/guilds/{guild_id}/bans", list_bans),
    ("GET", "/guilds/{guild_id}/bans/{user_id}", get_ban),
    ("PUT", "/guilds/{guild_id}/bans/{user_id}", ban),
    ("DELETE", "/guilds/{guild_id}/bans/{user_id}", unban),
    ("GET", "/guilds/{guild_id}/roles", list_roles),
    ("POST", "/guilds/{guild_id}/roles", create_role),
    ("PATCH", "/guilds/{guild_id}/roles", move_roles),
    ("GET", "/guilds/{guild_id}/roles/{role_id}", get_role),
    ("PATCH", "/guilds/{guild_id}/roles/{role_id}", edit_role),
    ("DELETE", "/guilds/{guild_id}/roles/{role_id}", delete_role),
]
