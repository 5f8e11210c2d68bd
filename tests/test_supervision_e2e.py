"""Supervision end to end: the daemon as a separate process, edits on disk, the emulator as Discord."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from supervisor.emulator import Emulator
from tests.support import (
    BotWorld,
    DaemonProcess,
    InstanceFolders,
    TcpProxy,
    add_bot,
    config_text,
    event,
    eventually,
    fake_token,
    run_cli_async,
    status,
)

pytestmark = pytest.mark.e2e  # the daemon as a separate process

SWEEP_SKIPPED = event("tempban_sweep_skipped")


def save(path: Path, text: str) -> None:
    """Save like an editor does: write a new file, then rename it over the old one."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    os.replace(temporary, path)


async def answers(emu: Emulator, bot: BotWorld, command: str, timeout: float = 5.0) -> str | None:
    """The bot's reply to `command` typed by the guild owner, or None when it stays silent."""
    await emu.send_message(bot.channel, bot.owner, command)
    try:
        message = await emu.wait_for_bot_message(channel=bot.channel, bot=bot.bot_user, timeout=timeout)
    except TimeoutError:
        return None
    return message.content or json.dumps(message.embeds)


async def silent(emu: Emulator, bot: BotWorld, command: str, probe: str) -> bool:
    """Whether the bot ignores `command`: `probe`, sent right after it, is answered, and nothing else is.

    The bot starts handling a channel's messages in order, so when `probe` is a command as quick as `command`
    would be, its answer proves the bot got past `command`.
    """
    ignored = await emu.send_message(bot.channel, bot.owner, command)
    sent = await emu.send_message(bot.channel, bot.owner, probe)
    await emu.wait_for_bot_message(lambda m: m.reference_id == sent.id, bot=bot.bot_user, timeout=10)
    return not [m for m in emu.bot_messages
                if m.channel_id == bot.channel.id and m.id > ignored.id and m.reference_id != sent.id]


class Fleet:
    """Two bots in their own guilds under one daemon."""

    def __init__(self, emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str,
                 schemas: list[str], unique, config_extra: str = ""):
        self.emu = emu
        self.a = add_bot(emu, instances, "alpha", prefix="!", schema=unique("sup_a"), database_url=database_url,
                         config_extra=config_extra)
        self.b = add_bot(emu, instances, "beta", prefix="?", schema=unique("sup_b"), database_url=database_url)
        schemas += [self.a.schema, self.b.schema]
        self.daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)

    def sessions(self) -> tuple[int, ...]:
        return tuple(f(bot.token) for bot in (self.a, self.b) for f in (self.emu.identify_count,
                                                                         self.emu.resume_count))


@pytest_asyncio.fixture
async def fleet(emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
                unique) -> AsyncIterator[Fleet]:
    world = Fleet(emu, instances, tmp_path, database_url, schemas, unique)
    await world.daemon.start()
    try:
        await world.daemon.wait_running("alpha", "beta")
        yield world
    finally:
        assert await world.daemon.stop() == 0, world.daemon.stderr_text[-3000:]


async def test_prefix_edit_applies_live_without_reconnect(fleet: Fleet) -> None:
    emu, a = fleet.emu, fleet.a
    assert "Pong" in (await answers(emu, a, "!ping") or "")
    before = fleet.sessions()
    save(a.folder / "config.toml", config_text("alpha", "$"))
    await fleet.daemon.wait_log(lambda e: e.get("event") == "config_reloaded" and e.get("instance") == "alpha")
    assert "Pong" in (await answers(emu, a, "$ping") or "")
    assert await silent(emu, a, "!ping", probe="$ping")
    assert "Pong" in (await answers(emu, fleet.b, "?ping") or "")
    assert fleet.sessions() == before == (1, 0, 1, 0)


async def test_feature_switched_off_and_on_live(fleet: Fleet) -> None:
    emu, a = fleet.emu, fleet.a
    assert await answers(emu, a, "!banlist") == "No active tempbans."
    save(a.folder / "config.toml", config_text("alpha", "!", "[features]\nmoderation = false\n"))
    await fleet.daemon.wait_log(lambda e: e.get("event") == "config_reloaded" and e.get("instance") == "alpha")
    assert await answers(emu, a, "!banlist", timeout=0.5) is None  # a probe could overtake a database query
    assert "Moderation" not in (await answers(emu, a, "!help") or "")
    save(a.folder / "config.toml", config_text("alpha", "!", "[features]\nmoderation = true\n"))
    await eventually(lambda: _answers_banlist(emu, a))
    assert "Moderation" in (await answers(emu, a, "!help") or "")
    assert fleet.sessions() == (1, 0, 1, 0)


async def _answers_banlist(emu: Emulator, bot: BotWorld) -> bool:
    return await answers(emu, bot, "!banlist", timeout=0.3) == "No active tempbans."


@pytest.mark.parametrize(("breakage", "expected"), [
    ('bot_name = "x\n', "alpha/config.toml:1: invalid TOML"),
    ('bot_name = "x"\ncommand_prefix = "!"\nprefx = 1\n', "alpha/config.toml:3: prefx: unknown key"),
    ("", "alpha/personality.txt: personality file is empty"),
])
async def test_broken_edit_keeps_last_good_config(fleet: Fleet, breakage: str, expected: str) -> None:
    emu, a = fleet.emu, fleet.a
    if breakage:
        save(a.folder / "config.toml", breakage)
    else:
        save(a.folder / "personality.txt", "   \n")
    await fleet.daemon.wait_log(lambda e: e.get("event") == "config_rejected")
    assert "Pong" in (await answers(emu, a, "!ping") or "")
    shown = await status(fleet.daemon)
    assert shown["alpha"]["state"] == "running"
    assert expected in shown["alpha"]["rejected"]
    code, table, _ = await run_cli_async("status", "--control-socket", str(fleet.daemon.control_socket))
    assert code == 0 and f"config rejected: {expected}" in table
    # Fixing the files applies the fix, here with a new prefix.
    save(a.folder / "personality.txt", "You are Alpha.")
    save(a.folder / "config.toml", config_text("alpha", "%"))
    await eventually(lambda: _replies(emu, a, "%ping"))
    assert (await status(fleet.daemon))["alpha"]["rejected"] is None
    assert fleet.sessions() == (1, 0, 1, 0)


async def _replies(emu: Emulator, bot: BotWorld, command: str) -> bool:
    return await answers(emu, bot, command, timeout=0.3) is not None


async def test_token_change_restarts_that_instance_only(fleet: Fleet) -> None:
    emu, a, b = fleet.emu, fleet.a, fleet.b
    new_token = fake_token("alpha2")
    new_user = emu.add_application(new_token, "alpha-bot-2")
    emu.add_bot_to_guild(a.guild, new_user, roles=[r for r in emu.member_roles(a.guild, a.bot_user)])
    env = (a.folder / ".env").read_text().replace(a.token, new_token)
    save(a.folder / ".env", env)
    await fleet.daemon.wait_log(lambda e: e.get("event") == "config_reloaded"
                                and e.get("outcome") == "restarted: DISCORD_TOKEN changed")
    await eventually(lambda: _identified(emu, new_token))
    a.bot_user, a.token = new_user, new_token
    await eventually(lambda: _replies(emu, a, "!ping"))
    assert emu.identify_count(b.token) == 1 and emu.resume_count(b.token) == 0
    assert "Pong" in (await answers(emu, b, "?ping") or "")
    code, table, _ = await run_cli_async("status", "--control-socket", str(fleet.daemon.control_socket))
    assert code == 0 and "config edit restarted: DISCORD_TOKEN changed" in table


async def _identified(emu: Emulator, token: str) -> bool:
    return emu.identify_count(token) == 1


async def test_folder_added_and_removed(fleet: Fleet, emu: Emulator, instances: InstanceFolders, tmp_path: Path,
                                        database_url: str, schemas: list[str], unique) -> None:
    staging = InstanceFolders(tmp_path / "staging")
    gamma = add_bot(emu, staging, "gamma", prefix="+", schema=unique("sup_g"), database_url=database_url)
    schemas.append(gamma.schema)
    shutil.copytree(gamma.folder, instances.root / "gamma")
    gamma.folder = instances.root / "gamma"
    await fleet.daemon.wait_running("gamma", timeout=10)
    assert "Pong" in (await answers(emu, gamma, "+ping") or "")
    assert await answers(emu, gamma, "+banlist") == "No active tempbans."  # a command that uses its pool
    assert await pool_connections(database_url, gamma.schema) >= 1

    shutil.rmtree(gamma.folder)
    await eventually(lambda: _disconnected(emu, gamma.token))
    await eventually(lambda: _no_connections(database_url, gamma.schema))
    assert fleet.sessions() == (1, 0, 1, 0)


async def pool_connections(database_url: str, schema: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", f"discord-supervisor:{schema}")
    finally:
        await connection.close()


async def _disconnected(emu: Emulator, token: str) -> bool:
    return not emu.connected(token)


async def _no_connections(database_url: str, schema: str) -> bool:
    return await pool_connections(database_url, schema) == 0


@pytest.mark.slow
async def test_crashing_feature_task_restarts_only_its_instance(emu: Emulator, instances: InstanceFolders,
                                                                tmp_path: Path, database_url: str,
                                                                schemas: list[str], unique) -> None:
    world = Fleet(emu, instances, tmp_path, database_url, schemas, unique,
                  config_extra="[moderation]\nsweep_interval = 0.5\n")
    await world.daemon.start()
    try:
        await world.daemon.wait_running("alpha", "beta")
        connection = await asyncpg.connect(database_url)
        schema = world.a.schema
        try:
            # A row the sweep cannot read is skipped and reported, never a crash.
            await connection.execute(
                f'INSERT INTO "{schema}".tempbans (guild_id, user_id, moderator_id, expires_at) '
                "VALUES ('not-a-guild', '1', '2', now() - interval '1 minute')")
            skipped = await world.daemon.wait_log(lambda e: e.get("event") == "tempban_row_unreadable")
            assert skipped["instance"] == "alpha"
            assert emu.identify_count(world.a.token) == 1
            # A table gone from under it: the sweep task raises, and the instance restarts.
            await connection.execute(f'ALTER TABLE "{schema}".tempbans RENAME TO tempbans_away')
            crash = await world.daemon.wait_log(lambda e: e.get("event") == "instance_crashed_restarting")
            assert crash["instance"] == "alpha" and crash["retry_in"] == 1.0
            assert "tempban-sweep" in crash["reason"]
            await connection.execute(f'ALTER TABLE "{schema}".tempbans_away RENAME TO tempbans')
        finally:
            await connection.close()
        await eventually(lambda: _replies(emu, world.a, "!ping"), timeout=30)
        assert emu.identify_count(world.a.token) >= 2
        assert emu.identify_count(world.b.token) == 1 and emu.resume_count(world.b.token) == 0
        await eventually(lambda: _state_is(world.daemon, "alpha", "running"))  # it may answer before on_ready
        assert (await status(world.daemon))["alpha"]["restarts"] >= 1
    finally:
        assert await world.daemon.stop() == 0


async def test_postgres_outage_is_survived(emu: Emulator, instances: InstanceFolders, tmp_path: Path,
                                           database_url: str, schemas: list[str], unique) -> None:
    proxy = await TcpProxy(database_url).start()
    bot = add_bot(emu, instances, "outage", prefix="!", schema=unique("sup_out"), database_url=proxy.url,
                  config_extra="[moderation]\nsweep_interval = 0.5\n")
    schemas.append(bot.schema)
    daemon = await DaemonProcess(instances.root, tmp_path, api_base=emu.api_base,
                                 gateway_url=emu.gateway_url).start()
    try:
        await daemon.wait_running("outage")
        assert await answers(emu, bot, "!banlist") == "No active tempbans."
        mark = daemon.book.mark()
        await proxy.cut()
        reply = await answers(emu, bot, "!banlist")
        assert reply == "The database is unavailable right now; try again in a moment."
        await daemon.wait_log(SWEEP_SKIPPED, start=mark, count=3)  # several sweeps fail meanwhile, none crashes
        assert (await status(daemon))["outage"]["state"] == "running"
        assert not daemon.find(lambda e: e.get("event") == "instance_crashed_restarting", start=mark)
        await proxy.start()
        await eventually(lambda: _banlist_back(emu, bot))
        assert emu.identify_count(bot.token) == 1
    finally:
        assert await daemon.stop() == 0
        await proxy.cut()


async def _banlist_back(emu: Emulator, bot: BotWorld) -> bool:
    return await answers(emu, bot, "!banlist", timeout=1) == "No active tempbans."


async def test_postgres_down_at_start_backs_off_then_comes_up(emu: Emulator, instances: InstanceFolders,
                                                               tmp_path: Path, database_url: str,
                                                               schemas: list[str], unique) -> None:
    proxy = await TcpProxy(database_url).start()
    await proxy.cut()
    bot = add_bot(emu, instances, "late", prefix="!", schema=unique("sup_late"), database_url=proxy.url)
    schemas.append(bot.schema)
    daemon = await DaemonProcess(instances.root, tmp_path, api_base=emu.api_base,
                                 gateway_url=emu.gateway_url).start()
    try:
        waiting = await daemon.wait_log(lambda e: e.get("event") == "instance_retry_waiting")
        assert "cannot reach Postgres" in waiting["reason"]
        assert (await status(daemon))["late"]["state"] == "backoff"
        await proxy.start()
        await daemon.wait_running("late", timeout=30)
        assert "Pong" in (await answers(emu, bot, "!ping") or "")
    finally:
        assert await daemon.stop() == 0
        await proxy.cut()


async def test_sighup_rescans_and_sigterm_closes_every_gateway(emu: Emulator, instances: InstanceFolders,
                                                               tmp_path: Path, database_url: str,
                                                               schemas: list[str], unique) -> None:
    first = add_bot(emu, instances, "first", prefix="!", schema=unique("sup_h1"), database_url=database_url)
    schemas.append(first.schema)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--no-watch",))
    await daemon.start()
    try:
        await daemon.wait_running("first")
        second = add_bot(emu, instances, "second", prefix="!", schema=unique("sup_h2"), database_url=database_url)
        schemas.append(second.schema)
        # Not watching: the daemon answers, and still knows only the first instance until asked.
        assert list(await status(daemon)) == ["first"]
        assert emu.identify_count(second.token) == 0
        assert daemon.process is not None
        daemon.process.send_signal(signal.SIGHUP)
        await daemon.wait_running("second")
        assert "Pong" in (await answers(emu, second, "!ping") or "")
    finally:
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = await daemon.stop(signal.SIGTERM)
        took = loop.time() - started
    assert code == 0
    assert took < 10
    assert not emu.connected(first.token) and not emu.connected(second.token)


async def test_control_commands_without_a_daemon_say_so(tmp_path: Path) -> None:
    for args in (("status",), ("reload",), ("restart", "alpha")):
        code, _out, err = await run_cli_async(*args, "--control-socket", str(tmp_path / "none.sock"))
        assert code == 1
        assert "no discord-supervisor daemon is running" in err


async def test_burst_of_saves_is_one_reload_with_the_last_content(fleet: Fleet) -> None:
    emu, a, b = fleet.emu, fleet.a, fleet.b
    mark = len(fleet.daemon.logs)
    prefixes = [f"{c}" for c in "#$%&*+-=~^<>;:.,!@|/"][:20]
    # The daemon is held still during the burst (its inotify events queue up meanwhile): on a loaded machine this
    # test's own pauses between saves could otherwise exceed the watcher's quiet time and split the burst in two.
    assert fleet.daemon.process is not None
    fleet.daemon.process.send_signal(signal.SIGSTOP)
    try:
        for index, prefix in enumerate(prefixes):
            save(a.folder / "config.toml", config_text("alpha", prefix))
            if index == 10:  # another instance changes in the same moment, as in a `git checkout`
                save(b.folder / "config.toml", config_text("beta", "??"))
    finally:
        fleet.daemon.process.send_signal(signal.SIGCONT)
    await eventually(lambda: _replies(emu, a, f"{prefixes[-1]}ping"))
    await eventually(lambda: _replies(emu, b, "??ping"))
    # One more edit after the burst: changes are handled in order, so once its reload is logged, every reload
    # the burst caused has been logged before it.
    save(b.folder / "config.toml", config_text("beta", "?!"))
    await eventually(lambda: _replies(emu, b, "?!ping"))
    await fleet.daemon.wait_log(event("config_reloaded", instance="beta"), start=mark, count=2)
    reloads = [e for e in fleet.daemon.logs[mark:] if e.get("event") == "config_reloaded"]
    assert reloads[-1]["instance"] == "beta"  # the sentinel's: the last one
    assert sorted(e["instance"] for e in reloads[:-1]) == ["alpha", "beta"], reloads
    assert fleet.sessions() == (1, 0, 1, 0)


@pytest.mark.slow
async def test_real_postgres_stopped_and_started_under_a_running_instance(
    emu: Emulator, instances: InstanceFolders, tmp_path: Path, unique
) -> None:
    """A private PostgreSQL server is really stopped (pg_ctl stop) and started again while the bot runs."""
    from tests.support import scratch_server

    async with scratch_server() as server:
        assert server.url is not None
        bot = add_bot(emu, instances, "restart", prefix="!", schema=unique("sup_real"), database_url=server.url,
                      config_extra="[moderation]\nsweep_interval = 0.5\n")
        daemon = await DaemonProcess(instances.root, tmp_path, api_base=emu.api_base,
                                     gateway_url=emu.gateway_url).start()
        try:
            await daemon.wait_running("restart")
            assert await answers(emu, bot, "!banlist") == "No active tempbans."
            mark = daemon.book.mark()
            assert await server.stop()  # the server process really ends
            reply = await answers(emu, bot, "!banlist")
            assert reply == "The database is unavailable right now; try again in a moment."
            await daemon.wait_log(SWEEP_SKIPPED, start=mark, count=3)  # sweeps fail meanwhile; none is a crash
            assert (await status(daemon))["restart"]["state"] == "running"
            await server.start()
            await eventually(lambda: _banlist_back(emu, bot), timeout=30)
            assert emu.identify_count(bot.token) == 1
            assert (await status(daemon))["restart"]["restarts"] == 0
        finally:
            assert await daemon.stop() == 0


@pytest.mark.slow
async def test_crash_loop_fails_the_instance_until_restart(emu: Emulator, instances: InstanceFolders,
                                                           tmp_path: Path, database_url: str, schemas: list[str],
                                                           unique) -> None:
    bot = add_bot(emu, instances, "loopy", prefix="!", schema=unique("sup_loop"), database_url=database_url,
                  config_extra="[moderation]\nsweep_interval = 0.5\n")
    schemas.append(bot.schema)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--backoff-first", "0.05"))
    await daemon.start()
    connection = await asyncpg.connect(database_url)
    try:
        await daemon.wait_running("loopy")
        await connection.execute(f'ALTER TABLE "{bot.schema}".tempbans RENAME TO tempbans_away')
        failed = await daemon.wait_log(lambda e: e.get("event") == "instance_crash_loop", timeout=60)
        assert failed["instance"] == "loopy"
        assert "retry_in" not in failed  # parked until its files change or an operator asks: no timer runs
        shown = (await status(daemon))["loopy"]
        assert shown["state"] == "failed" and shown["last_error"].startswith("crash loop (6 crashes in 60 s)")
        identifies = emu.identify_count(bot.token)
        # The operator repairs the schema and asks for a restart.
        await connection.execute(f'ALTER TABLE "{bot.schema}".tempbans_away RENAME TO tempbans')
        assert (await status(daemon))["loopy"]["restarts"] == shown["restarts"]  # failed means no more retries
        assert emu.identify_count(bot.token) == identifies
        code, out, err = await run_cli_async("restart", "loopy", "--control-socket", str(daemon.control_socket))
        assert code == 0 and "restarting loopy" in out, err
        await eventually(lambda: _replies(emu, bot, "!ping"), timeout=30)
        await eventually(lambda: _state_is(daemon, "loopy", "running"))  # it may answer just before on_ready
    finally:
        await connection.close()
        assert await daemon.stop() == 0


async def _state_is(daemon: DaemonProcess, name: str, state: str) -> bool:
    return (await status(daemon))[name]["state"] == state
