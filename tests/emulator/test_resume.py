"""Reconnects: op 7 RECONNECT and a dropped socket both RESUME and replay what was missed."""

from __future__ import annotations

import aiohttp

from supervisor.emulator import Emulator
from tests.support import BotRunner, World, add_ping


async def test_op7_reconnect_resumes_without_identify(emu: Emulator, world: World, bots: BotRunner) -> None:
    resumed: list[bool] = []

    async def on_resumed() -> None:
        resumed.append(True)

    def setup(bot) -> None:
        add_ping(bot)
        bot.add_listener(on_resumed)

    await bots.start(world.token, setup=setup)

    assert await emu.force_reconnect(world.token) == 1
    await emu.wait_until(lambda: emu.resume_count(world.token) == 1 and emu.connected(world.token))

    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"
    assert emu.identify_count(world.token) == 1
    assert resumed == [True]
    assert len(emu.gateway.compressions) == 2  # the second connection is the resume


async def test_dropped_socket_resumes_and_replays_the_gap(emu: Emulator, world: World, bots: BotRunner) -> None:
    await bots.start(world.token, setup=add_ping)

    assert await emu.drop_gateway(world.token) == 1
    # Sent while the bot has no socket: only the resume replay can deliver it.
    await emu.send_message(world.channel, world.owner, "!ping")

    reply = await emu.wait_for_bot_message(channel=world.channel)
    assert reply.content == "pong"
    assert emu.resume_count(world.token) == 1
    assert emu.identify_count(world.token) == 1
    assert emu.gateway.token_stats(world.token).replayed >= 1


async def test_unknown_session_gets_invalid_session(emu: Emulator, world: World) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(emu.gateway_url + "?v=10&encoding=json") as ws:
        assert (await ws.receive_json())["op"] == 10
        await ws.send_json({"op": 6, "d": {"token": world.token, "session_id": "nope", "seq": 3}})
        assert await ws.receive_json() == {"op": 9, "d": False, "s": None, "t": None}
    assert emu.resume_count(world.token) == 0


async def test_invalidated_session_cannot_resume(emu: Emulator, world: World) -> None:
    # A raw client: discord.py waits 5 s before re-IDENTIFYing after op 9, too slow for a unit test.
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(emu.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": world.token, "intents": 513, "properties": {}}})
            ready = await ws.receive_json()
            assert ready["t"] == "READY" and ready["s"] == 1
            assert ready["d"]["resume_gateway_url"] == emu.gateway_url
            session_id = ready["d"]["session_id"]
            guild_create = await ws.receive_json()
            assert guild_create["t"] == "GUILD_CREATE" and guild_create["s"] == 2
            assert emu.invalidate_sessions(world.token) == 1
            assert await ws.receive_json() == {"op": 9, "d": False, "s": None, "t": None}
        async with session.ws_connect(emu.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 6, "d": {"token": world.token, "session_id": session_id, "seq": 2}})
            assert (await ws.receive_json())["op"] == 9
