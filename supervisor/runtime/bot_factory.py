"""Build a fresh discord.py Bot for one instance. A closed Bot cannot restart: every start builds a new one."""

from __future__ import annotations

import importlib

import discord
from discord.ext import commands

from supervisor.registry import CORE, FEATURES
from supervisor.runtime.context import InstanceContext
from supervisor.runtime.errors import is_internal, user_message

# Per-bot message cache: small, because a process hosts hundreds of bots.
MAX_CACHED_MESSAGES = 50


def feature_modules(ctx: InstanceContext) -> list[str]:
    """Modules of the enabled features, core first; features sharing a module are listed once."""
    modules = [CORE.module]
    for name in ctx.config.enabled_features():
        module = FEATURES[name].module
        if module not in modules:
            modules.append(module)
    return modules


def intents_for(modules: list[str]) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True  # prefix commands never fire without it
    for module in modules:
        for name, wanted in getattr(importlib.import_module(module), "INTENTS", {}).items():
            if wanted:
                setattr(intents, name, True)
    return intents


def create_cog(ctx: InstanceContext, module: str) -> commands.Cog:
    return importlib.import_module(module).create_cog(ctx)


class InstanceBot(commands.Bot):
    """A Bot bound to its instance context; replies to command errors in plain words."""

    def __init__(self, ctx: InstanceContext, *, guild_ready_timeout: float):
        self.instance = ctx
        self._loaded: dict[str, commands.Cog] = {}  # feature module -> its Cog in this bot
        super().__init__(
            command_prefix=lambda _bot, _message: ctx.config.command_start(),
            help_command=None,
            intents=intents_for(feature_modules(ctx)),
            max_messages=MAX_CACHED_MESSAGES,
            chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False),
        )

    async def setup_hook(self) -> None:
        await self.sync_features()

    def needs_new_intents(self) -> bool:
        """True when the current config's features need an intent this connection did not ask for."""
        wanted = intents_for(feature_modules(self.instance))
        return bool(wanted.value & ~self.intents.value)

    async def sync_features(self) -> None:
        """Add the Cogs of newly enabled features and remove those switched off, without reconnecting."""
        wanted = feature_modules(self.instance)
        for module in [m for m in self._loaded if m not in wanted]:
            cog = self._loaded.pop(module)
            await self.remove_cog(cog.qualified_name)  # its cog_unload cancels its background tasks
        for module in wanted:
            if module not in self._loaded:
                cog = create_cog(self.instance, module)
                await self.add_cog(cog)
                self._loaded[module] = cog

    async def on_command_error(self, context: commands.Context, error: commands.CommandError) -> None:  # type: ignore[override]
        message = user_message(error, context, self.instance.config.command_start())
        if message is None:
            return
        if is_internal(message):
            original = getattr(error, "original", error)
            self.instance.log.error(
                "command failed", command=context.command.qualified_name if context.command else None,
                error=repr(original), exc_info=original,
            )
        try:
            await context.reply(message, mention_author=False)
        except discord.HTTPException as reply_error:
            self.instance.log.warning("could not send the error reply", error=repr(reply_error))
