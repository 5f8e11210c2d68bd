"""Build a fresh discord.py Bot for one instance. A closed Bot cannot restart: every start builds a new one."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import discord
from discord.ext import commands

from supervisor import registry
from supervisor.config import InstanceConfig
from supervisor.database import describe_database_error, is_database_unavailable
from supervisor.instances import InstanceSpec
from supervisor.runtime.activity import current_activity, mark
from supervisor.runtime.containment import culprit
from supervisor.runtime.context import InstanceContext
from supervisor.runtime.errors import DATABASE_DOWN, is_internal, user_message
from supervisor.runtime.fencing import cut_gateway, gate_rest
from supervisor.runtime.lean_state import lazy_parsers
from supervisor.runtime.rest_counting import rest_trace
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


def _prefix_of(ctx: InstanceContext) -> Any:
    """The prefix, read on every message: a live edit changes it at once."""
    return lambda _bot, _message: ctx.config.command_start()


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
            command_prefix=_prefix_of(ctx),
            help_command=None,
            intents=intents_for(registry.enabled_features(ctx.config)),
            **({} if discord_defaults else bounded_caches()),
            chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False),
            http_trace=rest_trace(ctx.counters),
            connector=bot_connector(),  # None (discord.py's own) unless an extra CA is trusted (--ca-file)
        )
        if not discord_defaults:
            lazy_parsers(self)  # 75 bound methods per bot, looked up per event instead
        self.fenced = False  # its lease is lost: it never connects again (docs/standby.md, fencing)
        gate_rest(self.http, lambda: self.instance.lease_valid())

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        """No event is handled while the lease is not confirmed (e.g. the first ones read after a SIGCONT)."""
        self.instance.counters.events[event_name] += 1  # discord.py's event names: a small, fixed set
        if self.instance.lease_valid():
            super().dispatch(event_name, *args, **kwargs)

    def fence(self) -> None:
        """The lease is lost: cut the gateway socket now and never reconnect; the runner closes the rest."""
        self.fenced = True
        cut_gateway(self)

    def is_closed(self) -> bool:
        return self.fenced or super().is_closed()

    async def _run_event(self, coro: Any, event_name: str, *args: Any, **kwargs: Any) -> None:
        """discord.py stops only Exception here: KeyboardInterrupt or SystemExit from a command or listener would
        end the event loop and every bot in the process. It ends this instance's run instead."""
        mark(self.instance.name, f"event {event_name}")
        try:
            await super()._run_event(coro, event_name, *args, **kwargs)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            self.instance.crash(f"{current_activity.get() or event_name} ({culprit(error.__traceback__)[1]}) "
                                f"raised {error!r}", error)

    def _schedule_event(self, coro: Any, event_name: str, *args: Any, **kwargs: Any) -> Any:
        """A command still running when the bot closed (a frozen database's query at a SIGTERM) may end after
        the close: discord.py then has no loop to schedule its events on and prints a raw warning. Drop them."""
        if self.is_closed():
            return None
        return super()._schedule_event(coro, event_name, *args, **kwargs)

    async def invoke(self, ctx: commands.Context) -> None:
        mark(self.instance.name, f"command {ctx.command.qualified_name}" if ctx.command else "command")
        if ctx.command is not None:
            self.instance.counters.commands += 1
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

        The Cogs of newly enabled features are built and added first, each seeing `spec` already. If one fails,
        those just added are removed again and the instance keeps its old spec and Cogs; the error is raised as
        FeatureLoadError. When every one loaded, the features switched off are removed and withdrawn (their
        tasks cancelled and awaited) first; only then does the instance switch to `spec` (its prefix, settings)
        and tell the remaining features: a switched-off feature's job is never woken by the edit that ends it.
        """
        async with self._switching:
            wanted = {feature.name: feature for feature in registry.enabled_features(spec.config)}
            added: list[tuple[str, commands.Cog, FeatureContext]] = []
            await self._migrate_for([f for name, f in wanted.items() if name not in self._loaded], spec)
            try:
                for name, feature in wanted.items():
                    if name not in self._loaded:
                        added.append((name, *await self._build(feature, spec)))
            except BaseException:
                for _name, cog, feature_ctx in reversed(added):
                    await self.remove_cog(cog.qualified_name)
                    await feature_ctx.withdraw()
                raise
            for name in [name for name in self._loaded if name not in wanted]:
                cog, feature_ctx = self._loaded.pop(name)
                await self.remove_cog(cog.qualified_name)  # its cog_unload stops its own work first
                await feature_ctx.withdraw()
            self.instance.spec = spec  # prefix, root, bot_name, personality and feature settings are read here
            for name, cog, feature_ctx in added:
                feature_ctx.follow_instance()
                self._loaded[name] = (cog, feature_ctx)
            self.instance.config_changed()  # periodic jobs of the features still on re-read their intervals

    async def _migrate_for(self, switched_on: list[Feature], spec: InstanceSpec) -> None:
        """Tables of the features an edit switches on, before their Cogs are built; a failure rejects the edit."""
        owning = [feature for feature in switched_on if feature.migrations]
        if not owning or self.instance.migrate_features is None or not self.features_loaded.is_set():
            return  # at start the runner migrated every enabled feature before the bot existed
        try:
            await self.instance.migrate_features(spec.config)
        except Exception as error:
            raise FeatureLoadError(owning[0].name, error) from error

    def feature_context(self, name: str) -> FeatureContext | None:
        """The context of feature `name` as loaded in this bot now (None when it is off)."""
        loaded = self._loaded.get(name)
        return loaded[1] if loaded else None

    async def _build(self, feature: Feature, spec: InstanceSpec) -> tuple[commands.Cog, FeatureContext]:
        feature_ctx = FeatureContext(self.instance, feature, spec=spec)
        try:
            cog = feature.load_cog_class()(feature_ctx)
            await self.add_cog(cog)
        except Exception as error:
            await feature_ctx.withdraw()
            raise FeatureLoadError(feature.name, error) from error
        return cog, feature_ctx

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """A listener failed (discord.py would print "Ignoring exception in ..." with a traceback): an outage is one
        warning line, a bug one error line with its traceback, both naming the instance and the event."""
        error = sys.exc_info()[1]
        if error is not None and is_database_unavailable(error):
            self.instance.log.warning("listener_failed_database_unavailable", listener=event_method,
                                      reason=describe_database_error(error))
        else:
            self.instance.log.error("listener_failed", listener=event_method, error=repr(error), exc_info=error)

    async def on_command_error(self, context: commands.Context, error: commands.CommandError) -> None:
        if context.command is not None:
            self.instance.counters.command_failures += 1
        message = user_message(error, context, self.instance.config.command_start())
        if message is None:
            return
        command = context.command.qualified_name if context.command else None
        original = getattr(error, "original", error)
        if message == DATABASE_DOWN:  # an outage, not a bug: one line, no traceback
            self.instance.log.warning("command_failed_database_unavailable", command=command,
                                      reason=describe_database_error(original))
        elif is_internal(message):
            self.instance.log.error("command_failed", command=command, error=repr(original), exc_info=original)
        try:
            await context.reply(message, mention_author=False)
        except discord.HTTPException as reply_error:
            self.instance.log.warning("error_reply_failed", error=repr(reply_error))
