"""Build a fresh discord.py Bot for one instance. A closed Bot cannot restart: every start builds a new one."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord.ext import commands

from supervisor import registry
from supervisor.config import InstanceConfig
from supervisor.database import describe_database_error
from supervisor.instances import InstanceSpec
from supervisor.runtime.activity import current_activity, mark
from supervisor.runtime.context import InstanceContext
from supervisor.runtime.errors import DATABASE_DOWN, is_internal, user_message
from supervisor.runtime.tls import bot_connector
from supervisor.sdk.context import FeatureContext
from supervisor.sdk.feature import Feature

# Per-bot message cache: small, because a process hosts hundreds of bots.
MAX_CACHED_MESSAGES = 50


def intents_for(features: list[Feature]) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True  # prefix commands never fire without it
    for feature in features:
        for name in feature.intents:
            setattr(intents, name, True)
    return intents


def bounded_caches() -> dict[str, Any]:
    """What each bot keeps per connection, kept small: a process hosts hundreds of bots."""
    return {"max_messages": MAX_CACHED_MESSAGES}


class FeatureLoadError(Exception):
    """A feature's Cog failed to build or load; nothing of the edit that switched it on was kept."""

    def __init__(self, feature: str, error: BaseException):
        super().__init__(f"feature {feature!r} did not load: {type(error).__name__}: {error}")
        self.feature = feature


class InstanceBot(commands.Bot):
    """A Bot bound to its instance context; replies to command errors in plain words."""

    def __init__(self, ctx: InstanceContext, *, guild_ready_timeout: float, discord_defaults: bool = False):
        self.instance = ctx
        self._loaded: dict[str, tuple[commands.Cog, FeatureContext]] = {}  # feature name -> its Cog here
        self._switching = asyncio.Lock()  # one feature switch at a time (setup_hook and live edits)
        self.features_loaded = asyncio.Event()  # set once setup_hook built the first Cogs: edits apply from here
        super().__init__(
            command_prefix=lambda _bot, _message: ctx.config.command_start(),
            help_command=None,
            intents=intents_for(registry.enabled_features(ctx.config)),
            **({} if discord_defaults else bounded_caches()),
            chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False),
            connector=bot_connector(),  # None (discord.py's own) unless an extra CA is trusted (--ca-file)
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
        try:
            await super().invoke(ctx)
        finally:
            # discord.py puts the context in its own argument list (ctx.args = [ctx, ...]): a reference cycle
            # per command, left for the garbage collector. Breaking it frees the context at once.
            ctx.args = []

    async def setup_hook(self) -> None:
        await self.switch_features(self.instance.spec)
        self.features_loaded.set()

    def missing_intents(self, config: InstanceConfig) -> list[str]:
        """Gateway intents `config`'s features need that this connection did not ask for."""
        wanted = intents_for(registry.enabled_features(config))
        missing = discord.Intents._from_value(wanted.value & ~self.intents.value)
        return sorted(name for name, on in missing if on)

    async def switch_features(self, spec: InstanceSpec) -> None:
        """Switch this bot to `spec`, all or nothing.

        The Cogs of newly enabled features are built and added first, each seeing `spec` already; only when
        every one loaded does the instance switch to `spec` (its prefix, settings) and remove the Cogs of
        features switched off. If one fails, those just added are removed again and the instance keeps its
        old spec and Cogs; the error is raised as FeatureLoadError.
        """
        async with self._switching:
            wanted = {feature.name: feature for feature in registry.enabled_features(spec.config)}
            added: list[tuple[str, commands.Cog, FeatureContext]] = []
            try:
                for name, feature in wanted.items():
                    if name not in self._loaded:
                        added.append((name, *await self._build(feature, spec)))
            except BaseException:
                for _name, cog, feature_ctx in reversed(added):
                    await self.remove_cog(cog.qualified_name)
                    feature_ctx.withdraw()
                raise
            self.instance.spec = spec  # prefix, root, bot_name, personality and feature settings are read here
            self.instance.config_changed()  # periodic jobs re-read their intervals
            for name, cog, feature_ctx in added:
                feature_ctx.follow_instance()
                self._loaded[name] = (cog, feature_ctx)
            for name in [name for name in self._loaded if name not in wanted]:
                cog, feature_ctx = self._loaded.pop(name)
                await self.remove_cog(cog.qualified_name)  # its cog_unload cancels its background tasks
                feature_ctx.withdraw()

    async def _build(self, feature: Feature, spec: InstanceSpec) -> tuple[commands.Cog, FeatureContext]:
        feature_ctx = FeatureContext(self.instance, feature, spec=spec)
        try:
            cog = feature.load_cog_class()(feature_ctx)
            await self.add_cog(cog)
        except Exception as error:
            feature_ctx.withdraw()
            raise FeatureLoadError(feature.name, error) from error
        return cog, feature_ctx

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
