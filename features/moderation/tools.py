"""Moderation actions offered to this instance's other features as tools (`lookup("moderation.tools")`).

AI chat lets the model propose a tempban, unban or nuke; a moderator approves it with a button, and the action
runs here, through the same rows, locks, Discord calls and audit log as the prefix commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord
from supervisor.sdk import FeatureContext, KeyedLocks, UserError, format_duration, parse_duration, truncate

from . import actions
from .audit import send_audit, user_field
from .checks import refusal
from .sweeper import TempbanSweeper

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "tempban", "description": "Temporarily ban a member of this server (a moderator must approve).",
        "parameters": {"type": "object", "properties": {
            "user_id": {"type": "string", "description": "the member's ID, from their <@ID> mention"},
            "duration": {"type": "string", "description": "30s, 5m, 2h, 3d or 1w"},
            "reason": {"type": "string"},
        }, "required": ["user_id", "duration"]}}},
    {"type": "function", "function": {
        "name": "unban", "description": "Lift a ban (a moderator must approve).",
        "parameters": {"type": "object", "properties": {
            "user_id": {"type": "string", "description": "the user's ID"},
        }, "required": ["user_id"]}}},
    {"type": "function", "function": {
        "name": "nuke", "description": "Delete the last N messages of this channel, 1-100 (a moderator must approve).",
        "parameters": {"type": "object", "properties": {
            "count": {"type": "number", "description": "how many messages, 1-100"},
        }, "required": ["count"]}}},
]

# The permission a member needs to request and to approve each tool (discord.Permissions flag names).
PERMISSIONS: Mapping[str, str] = {"tempban": "ban_members", "unban": "ban_members", "nuke": "manage_messages"}


def _user_id(arguments: Mapping[str, Any]) -> int:
    text = str(arguments.get("user_id", "")).strip().removeprefix("<@").removeprefix("!").removesuffix(">")
    if not text.isdigit():
        raise UserError("Invalid user ID.")
    return int(text)


def _count(arguments: Mapping[str, Any]) -> int:
    try:
        return max(1, min(100, int(float(arguments.get("count", 0)))))
    except (TypeError, ValueError):
        raise UserError("Invalid message count.") from None


class ModerationTools:
    """tools: the schemas; permission(name); describe(name, args) for the approval embed; run(...) the action."""

    tools = TOOLS

    def __init__(self, ctx: FeatureContext, locks: KeyedLocks, sweeper: TempbanSweeper):
        self.ctx = ctx
        self.locks = locks  # the Cog's: a tempban by tool and the sweep never race on one member
        self.sweeper = sweeper

    def permission(self, name: str) -> str | None:
        return PERMISSIONS.get(name)

    def describe(self, name: str, arguments: Mapping[str, Any]) -> str:
        if name == "tempban":
            reason = str(arguments.get("reason") or "").strip()
            text = f"**Tempban** <@{_user_id(arguments)}> for `{arguments.get('duration', '?')}`"
            return text + (f" — {truncate(reason, 200)}" if reason else "")
        if name == "unban":
            return f"**Unban** <@{_user_id(arguments)}>"
        if name == "nuke":
            return f"**Nuke** {_count(arguments)} messages"
        raise UserError("Unknown moderation action.")

    def validate(self, name: str, arguments: Mapping[str, Any]) -> None:
        """Refuse a malformed call before anyone is asked to approve it."""
        self.describe(name, arguments)
        if name == "tempban":
            self._seconds(arguments)

    @staticmethod
    def _seconds(arguments: Mapping[str, Any]) -> int:
        duration = str(arguments.get("duration", ""))
        seconds = parse_duration(duration)
        if seconds is None or seconds <= 0:
            raise UserError(f"Invalid duration: `{truncate(duration, 20)}`. {actions.DURATION_FORMATS}")
        if seconds > actions.MAX_BAN_SECONDS:
            raise UserError("A tempban can last at most 365 days.")
        return seconds

    async def run(self, name: str, arguments: Mapping[str, Any], *, member: discord.Member,
                  channel: discord.abc.Messageable, before: discord.abc.Snowflake | None = None) -> str:
        """Run an approved action as `member` (the approver); returns the reply. UserError for a refusal.
        A nuke deletes the messages before `before` (the request), not the conversation about it."""
        if name == "tempban":
            return await self._tempban(member, arguments)
        if name == "unban":
            return await self._unban(member, arguments)
        if name == "nuke":
            return await self._nuke(member, channel, arguments, before)
        raise UserError("Unknown moderation action.")

    async def _tempban(self, moderator: discord.Member, arguments: Mapping[str, Any]) -> str:
        guild = moderator.guild
        seconds = self._seconds(arguments)
        target = guild.get_member(_user_id(arguments))
        if target is None:
            raise UserError("Couldn't find that user in this server.")
        reason = str(arguments.get("reason") or "").strip() or None
        why = refusal("ban", moderator, target, guild.me)
        if why:
            raise UserError(why)
        shown = format_duration(seconds)
        tempban = await actions.ban(self.ctx, self.locks, self.sweeper, guild, target, moderator, seconds, reason,
                                    via=" via AI chat")
        assert tempban is not None
        await send_audit(self.ctx, guild.id, "Tempban", {
            "User": user_field(target), "Moderator": user_field(moderator), "Duration": shown, "Reason": reason or "",
        })
        expires = int(tempban.expires_at.timestamp())
        return f"Banned **{target.display_name}** for **{shown}**. Expires <t:{expires}:R>." + (
            f"\nReason: {reason}" if reason else "")

    async def _unban(self, moderator: discord.Member, arguments: Mapping[str, Any]) -> str:
        guild = moderator.guild
        user = discord.Object(_user_id(arguments))
        await actions.unban(self.ctx, self.locks, guild, user, f"<@{user.id}>", moderator, via=" via AI chat")
        await send_audit(self.ctx, guild.id, "Unban", {"User": user_field(user), "Moderator": user_field(moderator)})
        return f"Unbanned <@{user.id}>."

    async def _nuke(self, moderator: discord.Member, channel: discord.abc.Messageable,
                    arguments: Mapping[str, Any], before: discord.abc.Snowflake | None) -> str:
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            raise UserError("I can't nuke this kind of channel.")
        count = _count(arguments)
        young = actions.bulk_deletable([m async for m in channel.history(limit=count, before=before)])
        await actions.delete_messages(channel, young, reason=f"Nuke by {moderator} via AI chat")
        await send_audit(self.ctx, moderator.guild.id, "Nuke", {
            "Channel": f"<#{channel.id}>", "Moderator": user_field(moderator), "Messages Deleted": str(len(young)),
        })
        return f"Deleted **{len(young)}** messages."
