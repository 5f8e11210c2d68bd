"""Build a fresh discord.py Bot for one instance. A closed Bot cannot restart: every start builds a new one."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord.ext import commands

from supervisor import registry
from supervisor.database import describe_database_error
from supervisor.runtime.activity import current_activity, mark
from supervisor.runtime.context import InstanceContext
from supervisor.runtime.errors import DATABASE_DOWN, is_internal, user_message
from supervisor.sdk.context import FeatureContext
from supervisor.sdk.feature import Feature

# Per-bot message cache: small, because a process hosts hundreds of bots.
MAX_CACHED_MESSAGES = 50


def enabled_features(ctx: InstanceContext) -> list[Feature]:
    """Core first, then the features this instance's config switches on."""
    shipped = registry.features()
    return [registry.core(), *(shipped[name] for name in ctx.config.enabled_features() if name in shipped)]


def intents_for(features: list[Feature]) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True  # prefix commands never fire without it
    for feature in features:
        for name in feature.intents:
            setattr(intents, name, True)
    return intents


class InstanceBot(commands.Bot):
    """A Bot bound to its instance context; replies to command errors in plain words."""

    def __init__(self, ctx: InstanceContext, *, guild_ready_timeout: float):
        self.instance = ctx
        self._loaded: dict[str, tuple[commands.Cog, FeatureContext]] = {}  # feature name -> its Cog here
        super().__init__(
            command_prefix=lambda _bot, _message: ctx.config.command_start(),
            help_command=None,
            intents=intents_for(enabled_features(ctx)),
            max_messages=MAX_CACHED_MESSAGES,
            chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False),
        )

    async def _run_event(self, coro: Any, event_name: str, *args: Any, **kwargs: Any) -> None:
        """discord.py stops only Exception here: KeyboardInterrupt or SystemExit from a command or listener would
        end the event loop and every bot in the process. It ends this instance's run instead."""
        mark(self.instance.name, f"event {event_name}")
        try:
            await super()._run_event(coro, event_name, *args, **kwargs)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            self.instance.crash(f"{current_activity.get() or event_name} raised {error!r}", error)

    async def invoke(self, ctx: commands.Context) -> None:  # type: ignore[override]
        mark(self.instance.name, f"command {ctx.command.qualified_name}" if ctx.command else "command")
        await super().invoke(ctx)

    async def setup_hook(self) -> None:
        await self.sync_features()

    def needs_new_intents(self) -> bool:
        """True when the current config's features need an intent this connection did not ask for."""
        wanted = intents_for(enabled_features(self.instance))
        return bool(wanted.value & ~self.intents.value)

    async def sync_features(self) -> None:
        """Add the Cogs of newly enabled features and remove those switched off, without reconnecting."""
        wanted = {feature.name: feature for feature in enabled_features(self.instance)}
        for name in [name for name in self._loaded if name not in wanted]:
            cog, feature_ctx = self._loaded.pop(name)
            await self.remove_cog(cog.qualified_name)  # its cog_unload cancels its background tasks
            feature_ctx.withdraw()
        for name, feature in wanted.items():
            if name not in self._loaded:
                feature_ctx = FeatureContext(self.instance, feature)
                cog = feature.load_cog_class()(feature_ctx)
                await self.add_cog(cog)
                self._loaded[name] = (cog, feature_ctx)

    async def on_command_error(self, context: commands.Context, error: commands.CommandError) -> None:  # type: ignore[override]
        message = user_message(error, context, self.instance.config.command_start())
        if message is None:
            return
        command = context.command.qualified_name if context.command else None
        original = getattr(error, "original", error)
        if message == DATABASE_DOWN:  # an outage, not a bug: one line, no traceback
            self.instance.log.warning("command failed: database unavailable", command=command,
                                      reason=describe_database_error(original))
        elif is_internal(message):
            self.instance.log.error("command failed", command=command, error=repr(original), exc_info=original)
        try:
            await context.reply(message, mention_author=False)
        except discord.HTTPException as reply_error:
            self.instance.log.warning("could not send the error reply", error=repr(reply_error))
