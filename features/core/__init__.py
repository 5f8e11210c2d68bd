"""Core feature, always on: help, ping and about."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discord.ext import commands

    from supervisor.runtime.context import InstanceContext

INTENTS: dict[str, bool] = {}


def create_cog(ctx: InstanceContext) -> commands.Cog:
    from features.core.cog import CoreCog

    return CoreCog(ctx)
