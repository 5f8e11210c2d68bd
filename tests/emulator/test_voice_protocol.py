"""The voice protocol spoken by hand, for what discord.py 2.7 never does: aead_aes256_gcm_rtpsize (Discord's
preferred mode, which discord.py does not offer), RESUME after a dropped voice websocket, and the refusals."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from supervisor.emulator import Emulator
from supervisor.emulator.models import GUILD_VOICE
from supervisor.emulator.voice_crypto import AES_GCM, XCHACHA
from supervisor.emulator.voice_udp import StampedUdp
from supervisor.runtime.tls import extra_trust
from tests.support import World

GUILDS_AND_VOICE = (1 << 0) | (1 << 7)


@asynccontextmanager
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=extra_trust())) as http:
        yield http


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def dispatch(ws: aiohttp.ClientWebSocketResponse, event: str) -> dict[str, Any]:
    while True:
        payload = await receive(ws)
        if payload.get("t") == event:
            return payload["d"]


async def join_by_hand(http: aiohttp.ClientSession, emu: Emulator, world: World,
                       channel_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A bare gateway client: IDENTIFY, then op 4. Returns (VOICE_STATE_UPDATE, VOICE_SERVER_UPDATE) data."""
    gateway = await http.ws_connect(emu.gateway_url + "?v=10&encoding=json")
    await receive(gateway)  # HELLO
    await gateway.send_json({"op": 2, "d": {"token": world.token, "intents": GUILDS_AND_VOICE, "properties": {}}})
    await dispatch(gateway, "GUILD_CREATE")
    await gateway.send_json({"op": 4, "d": {"guild_id": str(world.guild.id), "channel_id": str(channel_id),
                                            "self_mute": False, "self_deaf": False}})
    state = await dispatch(gateway, "VOICE_STATE_UPDATE")
    server = await dispatch(gateway, "VOICE_SERVER_UPDATE")
    return state, server


def rtp(sequence: int, ssrc: int) -> bytes:
    return struct.pack(">BBHII", 0x80, 0x78, sequence, sequence * 960, ssrc)


def aes_gcm_packet(key: bytes, sequence: int, ssrc: int, counter: int, opus: bytes) -> bytes:
    header = rtp(sequence, ssrc)
    nonce = struct.pack(">I", counter)
    return header + AESGCM(key).encrypt(nonce + bytes(8), opus, header) + nonce


async def test_aes_gcm_audio_and_a_resumed_voice_websocket(emu: Emulator, world: World) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    recording = emu.voice.recording(world.guild, world.bot_user)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(5)
    async with session() as http:
        state, server = await join_by_hand(http, emu, world, lounge.id)
        assert state["channel_id"] == str(lounge.id) and state["user_id"] == str(world.bot_user.id)
        assert server["endpoint"] == emu.voice.server.endpoint and server["guild_id"] == str(world.guild.id)
        voice = await http.ws_connect(f"wss://{server['endpoint']}/?v=8")
        hello = await receive(voice)
        assert hello["op"] == 8 and hello["d"]["heartbeat_interval"] > 0
        identify = {"server_id": str(world.guild.id), "user_id": str(world.bot_user.id),
                    "session_id": state["session_id"], "token": server["token"], "max_dave_protocol_version": 0}
        await voice.send_json({"op": 0, "d": identify})
        ready = await receive(voice)
        assert ready["op"] == 2 and ready["d"]["modes"] == [AES_GCM, XCHACHA]
        ssrc, port = ready["d"]["ssrc"], ready["d"]["port"]

        udp.connect((ready["d"]["ip"], port))
        await asyncio.to_thread(udp.send, struct.pack(">HHI", 1, 70, ssrc) + bytes(66))
        reply = await asyncio.to_thread(udp.recv, 100)
        address, own_port = reply[8:reply.index(0, 8)].decode(), struct.unpack(">H", reply[-2:])[0]
        assert len(reply) == 74 and reply[:2] == b"\x00\x02" and struct.unpack(">I", reply[4:8])[0] == ssrc
        assert (address, own_port) == udp.getsockname()

        await voice.send_json({"op": 1, "d": {"protocol": "udp",
                                              "data": {"address": address, "port": own_port, "mode": AES_GCM}}})
        description = await receive(voice)
        assert description["op"] == 4 and description["d"]["mode"] == AES_GCM
        assert description["d"]["dave_protocol_version"] == 0
        key = bytes(description["d"]["secret_key"])
        await voice.send_json({"op": 3, "d": {"t": 1234, "seq_ack": description["seq"]}})
        assert await receive(voice) == {"op": 6, "d": {"t": 1234}}

        await asyncio.to_thread(udp.send, aes_gcm_packet(key, 1, ssrc, 0, b"\xfc first"))
        await recording.wait_audio(1)
        await voice.close(code=4000)  # the connection drops; the session stays

        resumed = await http.ws_connect(f"wss://{server['endpoint']}/?v=8")
        await receive(resumed)  # HELLO
        await resumed.send_json({"op": 7, "d": {"token": server["token"], "server_id": str(world.guild.id),
                                                "session_id": state["session_id"], "seq_ack": description["seq"]}})
        answer = await receive(resumed)
        assert answer["op"] == 9 and answer["seq"] == description["seq"] + 1
        await asyncio.to_thread(udp.send, aes_gcm_packet(key, 2, ssrc, 1, b"\xfc second"))
        await recording.wait_audio(2)
        forged = aes_gcm_packet(bytes(32), 3, ssrc, 2, b"\xfc forged")
        await asyncio.to_thread(udp.send, forged)
        await recording.wait_for(lambda r: r.rejected == 1)
        await resumed.close()
    udp.close()
    assert recording.audio_payloads == [b"\xfc first", b"\xfc second"]
    link = emu.voice.link(world.guild, world.bot_user)
    assert link is not None and link.resumes == 1 and link.ssrc == ssrc


@pytest.mark.parametrize(("first", "close_code"), [
    ({"op": 1, "d": {"protocol": "udp", "data": {"mode": AES_GCM}}}, 4003),  # before IDENTIFY
    ({"op": 0, "d": {"server_id": "1", "user_id": "2", "session_id": "x", "token": "y"}}, 4004),  # no such grant
    ({"op": 7, "d": {"server_id": "1", "session_id": "x", "token": "y", "seq_ack": 0}}, 4006),  # nothing to resume
    ({"op": 99, "d": None}, 4003),
])
async def test_the_voice_gateway_refuses_what_discord_refuses(emu: Emulator, world: World, first: dict[str, Any],
                                                              close_code: int) -> None:
    async with session() as http:
        voice = await http.ws_connect(f"wss://{emu.voice.server.endpoint}/?v=8")
        await receive(voice)  # HELLO
        await voice.send_json(first)
        msg = await voice.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == close_code


async def test_an_unoffered_mode_is_refused(emu: Emulator, world: World) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    async with session() as http:
        state, server = await join_by_hand(http, emu, world, lounge.id)
        voice = await http.ws_connect(f"wss://{server['endpoint']}/?v=8")
        await receive(voice)
        await voice.send_json({"op": 0, "d": {"server_id": str(world.guild.id), "user_id": str(world.bot_user.id),
                                              "session_id": state["session_id"], "token": server["token"]}})
        await receive(voice)  # READY
        await voice.send_json({"op": 1, "d": {"protocol": "udp", "data": {"mode": "xsalsa20_poly1305"}}})
        msg = await voice.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4016


async def test_arrival_times_are_the_kernels_not_the_busy_loops() -> None:
    arrivals: list[float] = []
    udp = StampedUdp("127.0.0.1", lambda _data, _addr, arrived: arrivals.append(arrived))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sent = time.monotonic()
        sender.sendto(b"\x80\x78" + bytes(30), ("127.0.0.1", udp.port))
        time.sleep(0.2)  # the event loop is busy (bots share it): the packet waits in the socket meanwhile
        async with asyncio.timeout(5):
            while not arrivals:
                await asyncio.sleep(0.01)
    finally:
        sender.close()
        udp.close()
    assert udp.stamped
    assert arrivals[0] - sent < 0.1  # stamped on arrival, not 0.2 s later when the loop read it


async def test_datagrams_lost_in_a_full_socket_buffer_are_counted() -> None:
    received: list[bytes] = []
    udp = StampedUdp("127.0.0.1", lambda data, _addr, _arrived: received.append(data))
    udp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's minimum: a few datagrams fit
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for n in range(200):  # the loop does not run meanwhile: nothing is read, most are dropped
            sender.sendto(struct.pack(">I", n) + bytes(160), ("127.0.0.1", udp.port))
        async with asyncio.timeout(5):
            while not received:
                await asyncio.sleep(0.01)
            # The kernel reports the count on the next datagram it queues.
            sender.sendto(b"after", ("127.0.0.1", udp.port))
            while received[-1] != b"after":
                await asyncio.sleep(0.01)
    finally:
        sender.close()
        udp.close()
    assert udp.dropped > 0
    assert len(received) + udp.dropped == 201
