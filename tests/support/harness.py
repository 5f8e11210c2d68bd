"""FeatureHarness: one instance run in-process by the real InstanceRunner against the emulator and a real Postgres.

No daemon subprocess: the runner, its live-apply path, the bot and every Cog run on the test's own event loop,
so a feature test costs a bot login, not a Python start-up. Keep subprocess tests for what needs a daemon
(signals, watching, restarts, outages, systemd). The process's log events land in `h.logs` exactly as the daemon
would print them, so a test waits for an event (`await h.wait_log(...)`) instead of sleeping.

The `harness_factory` and `harness` fixtures are defined here (tests/conftest.py registers this module as a plugin)
so the harness and the fixture that builds it stay in one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import discord
import discord.gateway
import discord.http
import pytest
import pytest_asyncio

from supervisor import registry
from supervisor.daemon.runner import InstanceRunner, RuntimeOptions, apply_live
from supervisor.daemon.status import State
from supervisor.emulator import Channel, Emulator, Guild, Interaction, P, Role, User
from supervisor.emulator.models import Message
from supervisor.instances import InstanceSpec, Status, load_instance
from supervisor.migrator import load_migrations
from supervisor.pg.service import Databases
from supervisor.runtime.endpoints import apply_endpoints
from supervisor.runtime.tls import trust_extra_ca
from supervisor.sdk.clock import AdjustableClock
from supervisor.sdk.shared import SharedServices
from tests.support import postgres
from tests.support.folders import InstanceFolders, config_text, fake_token
from tests.support.logbook import LogBook, LogPredicate, captured_logs
from tests.support.waiting import eventually


@dataclass
class FeatureHarness:
    """One bot in one guild with a #general channel, an owner and helpers to talk to it as a member would."""

    emu: Emulator
    name: str
    folder: Path
    token: str
    bot_user: User
    guild: Guild
    channel: Channel
    owner: User
    bot_role: Role
    schema: str
    database_url: str
    runner: InstanceRunner
    shared: SharedServices
    new_runner: Callable[[InstanceSpec], InstanceRunner]
    logs: LogBook
    members: list[User] = field(default_factory=list)
    clock: AdjustableClock = field(default_factory=AdjustableClock)  # the instance's ctx.clock

    async def advance(self, seconds: float) -> None:
        """Move the test's clock (every instance's ctx.clock) forward: timers due by then (periodic jobs, expiries,
        cache ages) run or count now, instead of the test sleeping."""
        await self.clock.advance(seconds)

    # -- people ----------------------------------------------------------------------------------
    def add_member(self, name: str, *, permissions: int = 0, roles: list[Role] | None = None,
                   joined_at: dt.datetime | None = None) -> User:
        """A member of the guild; `permissions` gives them a role of their own holding those permissions;
        `joined_at` in the past: they joined while no bot was watching."""
        user = self.emu.create_user(name)
        roles = list(roles or [])
        if permissions:
            roles.append(self.emu.create_role(self.guild, f"{name}-role", permissions, position=2))
        self.emu.add_member(self.guild, user, roles, joined_at=joined_at)
        self.members.append(user)
        return user

    # -- talking ---------------------------------------------------------------------------------
    async def send(self, author: User, text: str, channel: Channel | None = None) -> Message:
        return await self.emu.send_message(channel or self.channel, author, text)

    async def reply_to(self, sent: Message, timeout: float = 5.0) -> Message:
        return await self.emu.wait_for_bot_message(lambda m: m.reference_id == sent.id, bot=self.bot_user,
                                                   timeout=timeout)

    async def say(self, author: User, text: str, channel: Channel | None = None) -> str:
        """What the bot answers: the reply's content, else its embed's title and description."""
        reply = await self.reply_to(await self.send(author, text, channel))
        return message_text(reply)

    async def say_message(self, author: User, text: str, channel: Channel | None = None) -> Message:
        return await self.reply_to(await self.send(author, text, channel))

    async def press(self, message: Message, member: User, button: str | int) -> Interaction:
        """`member` presses a button (label, custom_id or 1-based number); the record says how the bot answered."""
        return await self.emu.press_button(message, member, button, timeout=10.0)

    # -- the instance ----------------------------------------------------------------------------
    @property
    def ctx(self) -> Any:
        assert self.runner.ctx is not None, "the instance is not running"
        return self.runner.ctx

    @property
    def bot(self) -> discord.Client:
        bot = self.ctx.bot
        assert bot is not None
        return bot

    def status(self) -> dict[str, object]:
        return self.runner.report()

    async def edit_config(self, config: str) -> str:
        """Write config.toml as a user would and apply it as the daemon does; returns the outcome."""
        (self.folder / "config.toml").write_text(config, encoding="utf-8")
        report = await asyncio.to_thread(load_instance, self.folder, None)
        if report.status is not Status.OK or report.spec is None:
            self.runner.status.rejected = "; ".join(str(p) for p in report.problems)
            return f"rejected: {self.runner.status.rejected}"
        return await apply_live(self.runner, report.spec)

    async def restart_cleanly(self) -> None:
        """Stop the instance as the daemon does at shutdown, then start it with a new runner (a daemon restart)."""
        spec = self.runner.spec  # with every live edit applied so far
        await self.runner.stop()
        self.runner = self.new_runner(spec)
        self.runner.start()
        await self.wait_running()

    async def wait_running(self, timeout: float = 15.0) -> None:
        await eventually(lambda: self.runner.status.state is State.RUNNING and self.runner.ctx is not None
                         and self.runner.ctx.bot is not None and self.runner.ctx.bot.is_ready(), timeout)

    async def stop(self) -> None:
        """Stop the instance as the daemon does at shutdown (its bot disconnects, its pool closes)."""
        await self.runner.stop()

    async def start(self) -> None:
        """Start it again with a new runner, as a daemon started later would (the last applied spec)."""
        self.runner = self.new_runner(self.runner.spec)
        self.runner.start()
        await self.wait_running()

    # -- its log -------------------------------------------------------------------------------------
    def log_events(self, predicate: LogPredicate, start: int = 0) -> list[dict[str, Any]]:
        """This instance's log entries matching `predicate`."""
        return [e for e in self.logs.entries[start:] if e.get("instance") == self.name and predicate(e)]

    async def wait_log(self, predicate: LogPredicate, timeout: float = 20.0, start: int = 0,
                       count: int = 1) -> dict[str, Any]:
        """The `count`-th log entry of this instance matching `predicate`, waiting for it."""
        return await self.logs.wait(lambda e: e.get("instance") == self.name and predicate(e), timeout, start, count)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await postgres.connect(self.database_url, server_settings={"search_path": self.schema})
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()


def message_text(message: Message) -> str:
    if message.content:
        return message.content
    for embed in message.embeds:
        return "\n".join(str(embed.get(key, "")) for key in ("title", "description") if embed.get(key))
    return ""


def config_for(name: str, prefix: str = "!", extra: str = "") -> str:
    return config_text(name, prefix, extra)


@pytest.fixture
def instance_logs() -> Iterator[LogBook]:
    """The process's log events during one test, as the daemon would print them (set up before any runner)."""
    with captured_logs(LogBook()) as book:
        yield book


@pytest_asyncio.fixture
async def harness_factory(emu: Emulator, database_url: str, tmp_path: Path, unique: Any, instance_logs: LogBook,
                          schemas: list[str]) -> AsyncIterator[Any]:
    """`await harness_factory(config_extra=..., env=..., personality=...)` -> a running FeatureHarness. Its .env
    names its own schema unless `explicit_schema=False` (then `public`: give it a DATABASE_URL of its own)."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    apply_endpoints(emu.api_base, emu.gateway_url, str(emu.voice.ca_file))
    folders = InstanceFolders(tmp_path / "instances")
    databases = Databases(tmp_path / "state")
    migrations = load_migrations()
    gate = asyncio.Semaphore(8)
    shared = SharedServices()
    clock = AdjustableClock()  # one time for every instance of the test (they share the quote cache, say)
    made: list[FeatureHarness] = []

    async def make(*, name: str = "bot", config_extra: str = "", config: str | None = None,
                   env: Mapping[str, str] | None = None, personality: str = "You are a helpful test bot.",
                   prefix: str = "!", upstreams: Mapping[str, str] | None = None,
                   wait: bool = True, guild_ready_timeout: float = 0.2,
                   explicit_schema: bool = True) -> FeatureHarness:
        nonlocal shared
        if upstreams:
            shared.options = {**shared.options, **upstreams}
        name = f"{name}{len(made) + 1}" if made else name
        schema = unique(f"t_{name}")
        schemas.append(schema)  # the schemas fixture drops it, after this one stopped every runner
        token = fake_token(name)
        bot_user = emu.add_application(token, f"{name}-bot")
        owner = emu.create_user(f"{name}-owner")
        guild = emu.create_guild(f"{name} guild", owner)
        channel = emu.create_channel(guild, "general")
        bot_role = emu.create_role(guild, f"{name}-bot-role", int(P.ADMINISTRATOR), position=10)
        emu.add_bot_to_guild(guild, bot_user, roles=[bot_role])
        folder = folders.make(
            name, config=config if config is not None else config_for(name, prefix, config_extra),
            env={"DISCORD_TOKEN": token, **({"DB_SCHEMA": schema} if explicit_schema else {}),
                 "DATABASE_URL": database_url, **(env or {})},
            personality=personality, explicit_schema=explicit_schema,  # without: `public`, the original's default
        )
        report = await asyncio.to_thread(load_instance, folder, None)
        assert report.spec is not None, report.problems
        options = RuntimeOptions(guild_ready_timeout=guild_ready_timeout, backoff_first=0.2, clock=clock)

        def new_runner(spec: InstanceSpec) -> InstanceRunner:
            return InstanceRunner(spec, migrations, options, gate, databases, shared)

        runner = new_runner(report.spec)
        runner.start()
        harness = FeatureHarness(emu, name, folder, token, bot_user, guild, channel, owner, bot_role, schema,
                                 database_url, runner, shared, new_runner, instance_logs, clock=clock)
        made.append(harness)
        if wait:
            await harness.wait_running()
        return harness

    try:
        yield make
    finally:
        await asyncio.gather(*(h.runner.stop() for h in made), return_exceptions=True)
        await shared.close()
        await databases.close()
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
        trust_extra_ca(None)


TEST_FEATURE_PACKAGES = ("tests.fixture_features.faulty", "tests.fixture_features.stubborn",
                         "tests.fixture_features.saboteur",
                         "tests.fixture_features.voiceprobe")


@contextlib.contextmanager
def extra_features(*packages: str) -> Iterator[None]:
    """Registers feature packages importable here but not installed (no entry point) for the block."""
    shipped = registry.FEATURE_PACKAGES
    registry.FEATURE_PACKAGES = (*shipped, *packages)
    registry.features.cache_clear()
    try:
        yield
    finally:
        registry.FEATURE_PACKAGES = shipped
        registry.features.cache_clear()


@pytest.fixture
def test_features() -> Iterator[None]:
    """Registers the test-only feature packages of tests/fixture_features/ (e.g. `faulty`) for one test."""
    with extra_features(*TEST_FEATURE_PACKAGES):
        yield


@pytest_asyncio.fixture
async def harness(harness_factory: Any) -> FeatureHarness:
    """One running instance with the default features."""
    return await harness_factory()
