"""The voice server: the voice gateway (v8, over TLS) and the UDP media endpoint with IP discovery.

One websocket per bot and guild. The handshake discord.py 2.7 runs: server HELLO -> client IDENTIFY (checked
against the grant of VOICE_SERVER_UPDATE) -> READY (ssrc, ip, port, modes) -> UDP IP discovery -> client
SELECT_PROTOCOL (mode) -> SESSION_DESCRIPTION (secret key, dave_protocol_version 0 = no end-to-end layer) ->
SPEAKING, heartbeats (ACKed with the client's nonce), and RESUME (-> RESUMED) after a dropped websocket. Every
RTP datagram is matched to its connection by ssrc and source address, decrypted, and added to the recording of
that bot and guild.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from .voice_crypto import DEFAULT_MODES, DecryptError, decrypt
from .voice_recording import SpeakingEvent, VoicePacket, VoiceRecording
from .voice_states import VoiceStates
from .voice_tls import VoiceTls
from .voice_udp import StampedUdp

log = structlog.get_logger("supervisor.emulator.voice")

OP_IDENTIFY = 0
OP_SELECT_PROTOCOL = 1
OP_READY = 2
OP_HEARTBEAT = 3
OP_SESSION_DESCRIPTION = 4
OP_SPEAKING = 5
OP_HEARTBEAT_ACK = 6
OP_RESUME = 7
OP_HELLO = 8
OP_RESUMED = 9
# Client ops the emulator accepts and ignores: CLIENT_CONNECT and the DAVE transition/MLS answers.
_IGNORED_OPS = {12, 23, 31}

CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTH_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_SESSION_INVALID = 4006
CLOSE_DISCONNECTED = 4014
CLOSE_SERVER_CRASHED = 4015
CLOSE_UNKNOWN_MODE = 4016

IP_DISCOVERY_LENGTH = 74


@dataclass
class VoiceLink:
    """One bot's voice session in one guild: survives a websocket RESUME, ends on leave or a new IDENTIFY."""

    guild_id: int
    user_id: int
    session_id: str
    token: str
    ssrc: int
    recording: VoiceRecording
    mode: str | None = None
    key: bytes | None = None
    address: tuple[str, int] | None = None  # the UDP source that did IP discovery
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    heartbeats: int = 0
    resumes: int = 0
    ended: bool = False
    closed_codes: list[int] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Audio can flow: the client chose a mode and holds the key."""
        return self.key is not None and not self.ended


class VoiceServer:
    def __init__(self, states: VoiceStates, tls: VoiceTls, *, host: str = "127.0.0.1") -> None:
        self.states = states
        self.tls = tls
        self.host = host
        self.modes: tuple[str, ...] = DEFAULT_MODES  # offered in READY, preferred first
        self.heartbeat_interval_ms = 13750
        self.heartbeat_ack_delay_ms = 20.0  # a network round trip, as on the main gateway
        self.keep_payloads = True
        self.recordings: dict[tuple[int, int], VoiceRecording] = {}
        self.links: dict[tuple[int, int], VoiceLink] = {}
        self._by_ssrc: dict[int, VoiceLink] = {}
        self.stray_packets = 0  # datagrams no live link claims (unknown ssrc, wrong source, after leaving)
        self.internal_errors: list[str] = []  # emulator bugs, for tests to assert there were none
        self.port = 0
        self.udp_port = 0
        self._runner: web.AppRunner | None = None
        self._udp: StampedUdp | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        states.on_left.append(self._left)

    @property
    def endpoint(self) -> str:
        """What VOICE_SERVER_UPDATE carries: discord.py dials wss://{endpoint}/?v=8."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.tls.server_context())
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._udp = StampedUdp(self.host, self._datagram_guarded)
        self.udp_port = self._udp.port

    async def stop(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001), 1.0)
        if self._udp is not None:
            self._udp.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- recordings -------------------------------------------------------------------------------

    def recording(self, guild_id: int, user_id: int) -> VoiceRecording:
        key = (guild_id, user_id)
        if key not in self.recordings:
            self.recordings[key] = VoiceRecording(guild_id, user_id, keep_payloads=self.keep_payloads)
        return self.recordings[key]

    # --- the websocket ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        holder: list[VoiceLink] = []  # the link this socket identified or resumed
        await self._send(ws, None, OP_HELLO, {"heartbeat_interval": self.heartbeat_interval_ms, "v": 8})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(ws, holder, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
                # Binary frames are DAVE/MLS messages: with dave_protocol_version 0 there are none to answer.
        except Exception as exc:  # an emulator bug: recorded for the tests, the client sees the socket close
            log.exception("voice_websocket_handler_failed")
            self.internal_errors.append(f"voice websocket: {exc!r}")
            await ws.close(code=4000, message=b"Emulator error.")
        finally:
            self._sockets.discard(ws)
            if holder and holder[0].ws is ws:
                holder[0].ws = None
                holder[0].closed_codes.append(ws.close_code or 0)
        return ws

    async def _send(self, ws: web.WebSocketResponse, link: VoiceLink | None, op: int, data: Any) -> None:
        payload: dict[str, Any] = {"op": op, "d": data}
        if link is not None:
            link.seq += 1
            payload["seq"] = link.seq
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps(payload, separators=(",", ":")))

    async def _on_text(self, ws: web.WebSocketResponse, holder: list[VoiceLink], raw: str) -> None:
        try:
            payload = json.loads(raw)
            op = payload["op"]
            data = payload.get("d")
        except (ValueError, TypeError, KeyError):
            await ws.close(code=4002, message=b"Failed to decode payload.")
            return
        link = holder[0] if holder else None
        if op == OP_HEARTBEAT:
            nonce = data.get("t") if isinstance(data, dict) else data
            if link is not None:
                link.heartbeats += 1
            asyncio.get_running_loop().call_later(
                self.heartbeat_ack_delay_ms / 1000,
                lambda: asyncio.ensure_future(self._send(ws, None, OP_HEARTBEAT_ACK, {"t": nonce})))
        elif op == OP_IDENTIFY:
            await self._identify(ws, holder, data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            await self._resume(ws, holder, data if isinstance(data, dict) else {})
        elif link is None:
            await ws.close(code=CLOSE_NOT_AUTHENTICATED, message=b"Not authenticated.")
        elif op == OP_SELECT_PROTOCOL:
            await self._select_protocol(ws, link, data if isinstance(data, dict) else {})
        elif op == OP_SPEAKING:
            speaking = data.get("speaking", 0) if isinstance(data, dict) else None
            if not isinstance(speaking, int):
                await ws.close(code=4002, message=b"Failed to decode payload.")
                return
            link.recording.add_speaking(SpeakingEvent(time.monotonic(), speaking, link.ssrc))
        elif op not in _IGNORED_OPS:
            await ws.close(code=CLOSE_UNKNOWN_OPCODE, message=b"Unknown opcode.")

    def _granted(self, data: dict[str, Any]) -> tuple[int, int] | None:
        try:
            key = (int(data["server_id"]), int(data["user_id"]))
        except (KeyError, TypeError, ValueError):
            return None
        grant = self.states.grant_for(*key)
        if grant is None or grant.token != data.get("token") or grant.session_id != data.get("session_id"):
            return None
        return key

    async def _identify(self, ws: web.WebSocketResponse, holder: list[VoiceLink], data: dict[str, Any]) -> None:
        if holder:
            await ws.close(code=CLOSE_ALREADY_AUTHENTICATED, message=b"Already authenticated.")
            return
        key = self._granted(data)
        if key is None:
            await ws.close(code=CLOSE_AUTH_FAILED, message=b"Authentication failed.")
            return
        old = self.links.get(key)
        if old is not None:
            self._end(old)
        ssrc = self._new_ssrc()
        grant = self.states.grants[key]
        link = VoiceLink(key[0], key[1], grant.session_id, grant.token, ssrc, self.recording(*key), ws=ws)
        self.links[key] = link
        self._by_ssrc[ssrc] = link
        holder.append(link)
        await self._send(ws, link, OP_READY, {
            "ssrc": ssrc, "ip": self.host, "port": self.udp_port, "modes": list(self.modes),
            "heartbeat_interval": self.heartbeat_interval_ms, "experiments": [],
        })

    async def _resume(self, ws: web.WebSocketResponse, holder: list[VoiceLink], data: dict[str, Any]) -> None:
        link = self._resumable(data)
        if link is None or holder:
            await ws.close(code=CLOSE_SESSION_INVALID, message=b"Session no longer valid.")
            return
        if link.ws is not None and link.ws is not ws:
            with contextlib.suppress(Exception):
                await link.ws.close(code=CLOSE_SESSION_INVALID, message=b"Resumed elsewhere.")
        link.ws = ws
        link.resumes += 1
        holder.append(link)
        await self._send(ws, link, OP_RESUMED, None)

    def _resumable(self, data: dict[str, Any]) -> VoiceLink | None:
        """RESUME names no user: the live link of that guild whose session it carries, with the link's token or
        the bot's latest grant (discord.py may have received a fresh VOICE_SERVER_UPDATE meanwhile)."""
        for link in self.links.values():
            if str(link.guild_id) != str(data.get("server_id")) or link.session_id != data.get("session_id"):
                continue
            grant = self.states.grant_for(link.guild_id, link.user_id)
            if data.get("token") == link.token or (grant is not None and data.get("token") == grant.token):
                link.token = str(data.get("token"))
                return link
        return None

    async def _select_protocol(self, ws: web.WebSocketResponse, link: VoiceLink, data: dict[str, Any]) -> None:
        inner = data.get("data") if isinstance(data.get("data"), dict) else {}
        mode = inner.get("mode") if isinstance(inner, dict) else None
        if data.get("protocol") != "udp" or mode not in self.modes:
            await ws.close(code=CLOSE_UNKNOWN_MODE, message=b"Unknown encryption mode.")
            return
        link.mode = mode
        link.key = os.urandom(32)
        await self._send(ws, link, OP_SESSION_DESCRIPTION, {
            "mode": mode, "secret_key": list(link.key), "dave_protocol_version": 0, "audio_codec": "opus",
            "video_codec": None, "media_session_id": secrets.token_hex(16),
        })

    def _new_ssrc(self) -> int:
        while True:
            ssrc = secrets.randbits(32) or 1
            if ssrc not in self._by_ssrc:
                return ssrc

    # --- leaving ----------------------------------------------------------------------------------

    def _end(self, link: VoiceLink) -> None:
        link.ended = True
        self._by_ssrc.pop(link.ssrc, None)
        if self.links.get((link.guild_id, link.user_id)) is link:
            del self.links[(link.guild_id, link.user_id)]
        if link.address is not None and self._udp is not None:
            # An RTCP BYE for the ended stream. Discord's media server keeps a UDP flow busy (RTCP, other
            # members' audio); discord.py's socket reader sits in a 30 s select() on its old socket after a
            # channel move until something arrives there, so an idle emulator would stall every move.
            self._udp.sendto(struct.pack(">BBHI", 0x81, 203, 1, link.ssrc), link.address)

    def _left(self, guild_id: int, user_id: int, forced: bool) -> None:
        link = self.links.get((guild_id, user_id))
        if link is None:
            return
        self._end(link)
        if forced and link.ws is not None and not link.ws.closed:
            asyncio.get_running_loop().create_task(
                link.ws.close(code=CLOSE_DISCONNECTED, message=b"Disconnected."))

    def drop(self, guild_id: int, user_id: int, code: int = CLOSE_SERVER_CRASHED) -> bool:
        """Close the bot's voice websocket with `code` (4015: the client should RESUME); the UDP side stays."""
        link = self.links.get((guild_id, user_id))
        if link is None or link.ws is None or link.ws.closed:
            return False
        asyncio.get_running_loop().create_task(link.ws.close(code=code, message=b"Voice server restarting."))
        return True

    # --- UDP --------------------------------------------------------------------------------------

    @property
    def kernel_drops(self) -> int:
        """Datagrams to the voice server the kernel dropped because its receive buffer was full (Linux)."""
        return 0 if self._udp is None else self._udp.dropped

    def _datagram_guarded(self, data: bytes, addr: tuple[str, int], arrived: float) -> None:
        try:
            self.datagram(data, addr, arrived)
        except Exception as exc:
            log.exception("voice_datagram_handler_failed")
            self.internal_errors.append(f"voice udp: {exc!r}")

    def datagram(self, data: bytes, addr: tuple[str, int], arrived: float) -> None:
        if len(data) == IP_DISCOVERY_LENGTH and data[:2] == b"\x00\x01":
            self._discover(data, addr)
            return
        if len(data) < 12 or data[0] & 0xC0 != 0x80:
            self.stray_packets += 1
            return
        sequence, timestamp, ssrc = struct.unpack_from(">HII", data, 2)
        link = self._by_ssrc.get(ssrc)
        if link is None or not link.ready or link.address != addr:
            self.stray_packets += 1
            return
        assert link.mode is not None and link.key is not None
        try:
            opus = decrypt(link.mode, link.key, data)
        except DecryptError:
            link.recording.rejected += 1
            return
        link.recording.add(VoicePacket(arrived, sequence, timestamp, ssrc, opus, len(opus)))

    def _discover(self, data: bytes, addr: tuple[str, int]) -> None:
        ssrc = struct.unpack_from(">I", data, 4)[0]
        link = self._by_ssrc.get(ssrc)
        if link is None or self._udp is None:
            self.stray_packets += 1
            return
        link.address = addr
        reply = bytearray(IP_DISCOVERY_LENGTH)
        struct.pack_into(">HHI", reply, 0, 2, 70, ssrc)
        host = addr[0].encode("ascii")
        reply[8:8 + len(host)] = host
        struct.pack_into(">H", reply, IP_DISCOVERY_LENGTH - 2, addr[1])
        self._udp.sendto(bytes(reply), addr)
