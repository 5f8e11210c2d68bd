"""Gateway heartbeats as event-loop timers (supervisor/runtime/heartbeats.py), against the emulator: sent every
interval, ACK'd, latency set, no thread per connection; a connection whose heartbeats go unanswered is closed and
RESUMEd, as with discord.py's own heartbeat thread."""

from __future__ import annotations

import asyncio
import logging
import math
import threading

import discord.gateway
import discord.http
import pytest
from discord.ext import commands
from structlog.testing import capture_logs

from supervisor.emulator import Emulator
from supervisor.runtime import containment
from supervisor.runtime.gateway_reads import TurnTakingWebSocketResponse, use_turn_taking_reads
from supervisor.runtime.heartbeats import LoopKeepAlive, use_loop_heartbeats
from tests.support import BotRunner, World, add_ping, full_intents


@pytest.fixture(autouse=True)
def loop_heartbeats(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.gateway, "KeepAliveHandler", discord.gateway.KeepAliveHandler)  # restored after
    use_loop_heartbeats()
    emu.gateway.config.heartbeat_interval_ms = 100


def keep_alive_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("keep-alive-handler")]


async def test_heartbeats_are_sent_acked_and_measured_without_a_thread(emu: Emulator, world: World,
                                                                        bots: BotRunner) -> None:
    bot = await bots.start(world.token, setup=add_ping)
    assert isinstance(bot.ws._keep_alive, LoopKeepAlive)

    await emu.wait_until(lambda: emu.gateway.token_stats(world.token).heartbeats >= 3)
    await emu.wait_until(lambda: not math.isinf(bot.latency))
    # The emulator answers after 40 ms: the latency is that round trip, never the interval.
    assert 0 < bot.latency < 5
    assert keep_alive_threads() == []
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"


async def test_unanswered_heartbeats_close_the_connection_and_it_resumes(emu: Emulator, world: World,
                                                                         bots: BotRunner,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    bot = commands.Bot(command_prefix="!", intents=full_intents(), heartbeat_timeout=0.5,
                       help_command=None)
    await bots.start(world.token, bot=bot, setup=add_ping)
    await emu.wait_until(lambda: emu.gateway.token_stats(world.token).heartbeats >= 1)

    emu.gateway.unacked_heartbeats.add(world.token)  # a zombie connection: nothing comes back
    with caplog.at_level(logging.DEBUG, logger="discord.gateway"):
        await emu.wait_until(lambda: emu.resume_count(world.token) == 1, timeout=10)
    emu.gateway.unacked_heartbeats.discard(world.token)

    await emu.wait_until(lambda: emu.connected(world.token))
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"
    assert emu.identify_count(world.token) == 1  # resumed, not a new session
    assert keep_alive_threads() == []


async def test_the_keep_alive_itself_closes_a_zombie_connection(emu: Emulator, world: World,
                                                                bots: BotRunner) -> None:
    """discord.py's read timeout is the same heartbeat_timeout and usually notices first; with a long read timeout
    and a short keep-alive one, the keep-alive's own check is what closes the connection."""
    bot = await bots.start(world.token, setup=add_ping)
    keep_alive = bot.ws._keep_alive
    assert isinstance(keep_alive, LoopKeepAlive)
    keep_alive.heartbeat_timeout = 0.3

    with capture_logs() as logs:
        emu.gateway.unacked_heartbeats.add(world.token)
        await emu.wait_until(lambda: emu.resume_count(world.token) == 1, timeout=10)
        emu.gateway.unacked_heartbeats.discard(world.token)
    assert any(e["event"] == "gateway_not_responding" for e in logs)
    assert not keep_alive.is_alive()

    await emu.wait_until(lambda: emu.connected(world.token))
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"
    assert emu.identify_count(world.token) == 1


async def test_a_heartbeat_held_by_flow_control_finishes_and_the_next_follow(emu: Emulator, world: World,
                                                                             bots: BotRunner) -> None:
    """A heartbeat is written from its timer; when the transport is paused (the peer stopped reading) the rest of
    the send waits in a task, and the heartbeats go on once the transport drains."""
    bot = await bots.start(world.token, setup=add_ping)
    keep_alive = bot.ws._keep_alive
    assert isinstance(keep_alive, LoopKeepAlive)
    await emu.wait_until(lambda: emu.gateway.token_stats(world.token).heartbeats >= 2)
    writer = bot.ws.socket._writer
    writer._limit = 0  # every frame checks flow control
    writer.protocol.pause_writing()
    try:
        before = emu.gateway.token_stats(world.token).heartbeats
        await emu.wait_until(lambda: emu.gateway.token_stats(world.token).heartbeats == before + 1)
        # The frame went out; the rest of its send waits for the drain, and no next heartbeat is due meanwhile.
        await emu.wait_until(lambda: keep_alive._task is not None and not keep_alive._task.done())
        assert emu.gateway.token_stats(world.token).heartbeats == before + 1
    finally:
        writer.protocol.resume_writing()
    await emu.wait_until(lambda: emu.gateway.token_stats(world.token).heartbeats >= before + 3)
    assert keep_alive.is_alive()
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"


async def test_acks_read_through_turn_taking_reads_set_the_latency(emu: Emulator, world: World, bots: BotRunner,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http, "DiscordClientWebSocketResponse", discord.http.DiscordClientWebSocketResponse)
    use_turn_taking_reads()  # ACKs go from the reader to the keep-alive, not through discord.py's poll loop
    emu.gateway.config.heartbeat_ack_delay_ms = 40
    bot = await bots.start(world.token, setup=add_ping)
    keep_alive = bot.ws._keep_alive
    assert isinstance(keep_alive, LoopKeepAlive) and isinstance(bot.ws.socket, TurnTakingWebSocketResponse)
    await emu.wait_until(lambda: emu.gateway.token_stats(world.token).heartbeats >= 3)
    await emu.wait_until(lambda: not math.isinf(bot.latency))
    assert 0.04 <= bot.latency < 5  # the ACK's delay: measured from the send to the ACK
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"


async def test_with_turn_taking_reads_the_keep_alive_closes_a_zombie_connection(
        emu: Emulator, world: World, bots: BotRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads through TurnTakingWebSocketResponse have no timeout of their own while the keep-alive runs: the
    keep-alive's check is what notices the dead connection, and the bot resumes."""
    monkeypatch.setattr(discord.http, "DiscordClientWebSocketResponse", discord.http.DiscordClientWebSocketResponse)
    use_turn_taking_reads()
    bot = commands.Bot(command_prefix="!", intents=full_intents(), heartbeat_timeout=0.5, help_command=None)
    await bots.start(world.token, bot=bot, setup=add_ping)
    await emu.wait_until(lambda: emu.gateway.token_stats(world.token).heartbeats >= 1)

    with capture_logs() as logs:
        emu.gateway.unacked_heartbeats.add(world.token)
        await emu.wait_until(lambda: emu.resume_count(world.token) == 1, timeout=10)
        emu.gateway.unacked_heartbeats.discard(world.token)
    assert any(e["event"] == "gateway_not_responding" for e in logs)

    await emu.wait_until(lambda: emu.connected(world.token))
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"
    assert emu.identify_count(world.token) == 1


def add_bots(emu: Emulator, world: World, count: int) -> list[str]:
    tokens = [f"{world.token}.{n}" for n in range(count)]
    for n, token in enumerate(tokens):
        emu.add_bot_to_guild(world.guild, emu.add_application(token, f"Bot{n}"))
    return tokens


async def test_connections_share_heartbeat_slots_and_none_beats_early_or_stops(emu: Emulator, world: World,
                                                                                bots: BotRunner) -> None:
    """Heartbeats fall due in shared slots (an eighth of the 100 ms interval here): each connection's still come
    every interval, at most a slot early, and are ACK'd; no connection is resumed or identified twice."""
    tokens = add_bots(emu, world, 3)
    started = [await bots.start(token) for token in tokens]
    for token in tokens:
        await emu.wait_until(lambda token=token: emu.gateway.token_stats(token).heartbeats >= 2)
    loop = asyncio.get_running_loop()
    before = {token: emu.gateway.token_stats(token).heartbeats for token in tokens}
    window_started = loop.time()
    for token in tokens:  # none stops: each sends 8 more (which takes at least 7 * 7/8 of an interval)
        await emu.wait_until(lambda token=token: emu.gateway.token_stats(token).heartbeats >= before[token] + 8)
    window = loop.time() - window_started
    for token in tokens:
        sent = emu.gateway.token_stats(token).heartbeats - before[token]
        # At most one per 7/8 of an interval, plus the one in flight at each end of the window.
        assert sent <= window / (0.1 * 7 / 8) + 2, (token, sent, window)
        assert emu.identify_count(token) == 1 and emu.resume_count(token) == 0
    assert all(not math.isinf(bot.latency) for bot in started)


async def test_a_heartbeat_that_raises_keyboard_interrupt_crashes_only_its_own_bot(emu: Emulator, world: World,
                                                                                   bots: BotRunner) -> None:
    """Heartbeats due in one slot run in one callback, each in its own bot's context: one that raises (even
    KeyboardInterrupt) is reported to its own instance, and the others in the slot keep beating."""
    class Bomb:
        def __int__(self) -> int:
            raise KeyboardInterrupt

    crashes: list[str] = []
    doomed, *others = add_bots(emu, world, 3)
    token = containment.owner.set(lambda description, error: crashes.append(description))
    try:
        victim = await bots.start(doomed)  # its tasks, and so its keep-alive, belong to the recording "instance"
    finally:
        containment.owner.reset(token)
    for other in others:
        await bots.start(other)
    victim.ws.sequence = Bomb()  # its next heartbeat fails while formatting the sequence

    await emu.wait_until(lambda: crashes != [])
    assert crashes == ["heartbeat of shard None raised KeyboardInterrupt()"]
    before = {other: emu.gateway.token_stats(other).heartbeats for other in others}
    for other in others:
        await emu.wait_until(lambda other=other: emu.gateway.token_stats(other).heartbeats >= before[other] + 2)
