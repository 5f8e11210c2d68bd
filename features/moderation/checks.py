"""Discord's own rules, checked before calling Discord so the moderator gets a clear reply."""

from __future__ import annotations

import discord


def refusal(action: str, moderator: discord.Member, target: discord.Member | discord.User,
            me: discord.Member) -> str | None:
    """Why `moderator` may not `action` `target` (through the bot `me`), or None when it is allowed."""
    if target.id == moderator.id:
        return f"You can't {action} yourself."
    if target.id == me.id:
        return f"I can't {action} myself."
    guild = moderator.guild
    if target.id == guild.owner_id:
        return f"You can't {action} the server owner."
    if not isinstance(target, discord.Member):
        return None  # not in the guild: no roles to compare
    if moderator.id != guild.owner_id and target.top_role >= moderator.top_role:
        return f"You can't {action} **{target.display_name}**: their highest role is not below yours."
    if target.top_role >= me.top_role:
        return f"I can't {action} **{target.display_name}**: their highest role is not below mine."
    return None
