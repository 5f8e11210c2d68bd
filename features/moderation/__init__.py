"""Moderation: tempbans that are never forgotten, kicks, timeouts, nuke, guild settings and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discord.ext import commands

    from supervisor.runtime.context import InstanceContext

# members: converters and hierarchy checks need every member's roles; moderation: ban events keep caches true.
INTENTS = {"members": True, "moderation": True}


def create_cog(ctx: InstanceContext) -> commands.Cog:
    from features.moderation.cog import ModerationCog

    return ModerationCog(ctx)
