"""The gateway websocket: sessions, compression, IDENTIFY/RESUME and intent-filtered dispatch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from . import intents as intent_rules
from . import payloads
from .intents import PRIVILEGED, Intent
from .models import Application, Channel, Guild
from .permissions import P, channel_permissions
from .sessions import SessionWatch
from .snowflake import utcnow
from .state import State

log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

PAYLOAD_COMPRESS_MIN = 1024  # payload compression: Discord compresses large payloads only (its threshold is not
# documented); READY and GUILD_CREATE exceed this, a MESSAGE_CREATE of a short message does not

# Closing codes from the client after which Discord forgets the session.
_SESSION_ENDING_CLOSES = (1000, 1001)


class _Compressor:
    """One streaming context per connection: every frame continues the same stream."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self._zlib: Any = None
        self._zstd: Any = None
        self._flush_mode = 0
        if kind == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif kind == "zstd-stream":
            import zstandard

            self._zstd = zstandard.ZstdCompressor().compressobj()
            self._flush_mode = zstandard.COMPRESSOBJ_FLUSH_BLOCK

    def __call__(self, raw: bytes) -> bytes:
        if self._zlib is not None:
            return self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        return self._zstd.compress(raw) + self._zstd.flush(self._flush_mode)


@dataclass
class _Close:
    code: int
    reason: str


class Connection:
    """One websocket. Everything leaves through a FIFO writer so stream order equals wire order."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compress: str | None) -> None:
        self.ws = ws
        self._transport = request.transport
        self._compress = _Compressor(compress) if compress in ("zlib-stream", "zstd-stream") else None
        self._queue: asyncio.Queue[dict[str, Any] | _Close] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._writer = asyncio.create_task(self._write_loop())
        self.session: Session | None = None
        self.closing = False
        # IDENTIFY's `compress: true` without transport compression: payloads of PAYLOAD_COMPRESS_MIN bytes or
        # more go out on their own, each one whole zlib stream in a binary frame (Discord's payload compression).
        self.payload_compress = False

    @property
    def alive(self) -> bool:
        return not self.closing and not self.ws.closed

    def send(self, payload: dict[str, Any]) -> None:
        if not self.closing:
            self._queue.put_nowait(payload)

    def close(self, code: int, reason: str = "") -> None:
        if not self.closing:
            self.closing = True
            self._queue.put_nowait(_Close(code, reason))

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, like a network failure."""
        self.closing = True
        if self._transport is not None:
            self._transport.abort()

    async def _write_loop(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                async with self._lock:
                    if isinstance(item, _Close):
                        await self.ws.close(code=item.code, message=item.reason.encode())
                        return
                    raw = json.dumps(item, separators=(",", ":")).encode()
                    if self._compress is None and self.payload_compress and len(raw) >= PAYLOAD_COMPRESS_MIN:
                        await self.ws.send_bytes(zlib.compress(raw))
                    elif self._compress is None:
                        await self.ws.send_str(raw.decode())
                    else:
                        await self.ws.send_bytes(self._compress(raw))
            except (ConnectionError, RuntimeError):
                # The peer went away; the reader side notices and cleans up.
                self.closing = True
                return

    async def stop(self) -> None:
        self.closing = True
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


@dataclass
class Session:
    id: str
    app: Application
    intents: int
    shard: tuple[int, int] | None
    buffer: deque[dict[str, Any]]
    seq: int = 0
    conn: Connection | None = None
    # Only after READY/RESUMED may live dispatches flow to the socket.
    ready: bool = False

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data}
        self.buffer.append(payload)
        if self.conn is not None and self.ready:
            self.conn.send(payload)

    def owns_guild(self, guild_id: int) -> bool:
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id


@dataclass
class TokenStats:
    identifies: int = 0
    resumes: int = 0
    invalidated: int = 0
    replayed: int = 0
    heartbeats: int = 0  # heartbeats received on an identified connection


@dataclass
class GatewayConfig:
    heartbeat_interval_ms: int = 41250
    # A real gateway answers a heartbeat after a network round trip. Answering at once races discord.py's
    # bookkeeping (the ACK can arrive before its heartbeat thread records the send), which shows a 41 s latency
    # and logs "Can't keep up"; a small delay keeps latencies honest.
    heartbeat_ack_delay_ms: float = 40.0
    replay_buffer: int = 1000
    url: str = ""


class Gateway:
    def __init__(self, state: State, config: GatewayConfig) -> None:
        self.state = state
        self.config = config
        self.sessions: dict[str, Session] = {}
        self._by_user: dict[int, list[Session]] = {}
        self.connections: set[Connection] = set()
        self.stats: dict[str, TokenStats] = {}
        # The `compress` query value of every connection, in order (tests check what clients asked for).
        self.compressions: list[str | None] = []
        # Guilds listed as unavailable in READY whose GUILD_CREATE is held back (a Discord outage of one guild):
        # a client waits its guild-ready timeout for them.
        self.withheld_guilds: set[int] = set()
        self.watch = SessionWatch(lambda token: len(self.live_connections(token)))  # sessions per token over time
        # Tokens whose heartbeats get no ACK (a zombie connection, seen from the client).
        self.unacked_heartbeats: set[str] = set()
        # Op 4 (a bot joining, moving or leaving voice) goes to the voice model (voice_states.py).
        self.on_voice_state: Callable[[Session, dict[str, Any]], None] | None = None

    # --- test-facing views ------------------------------------------------------------------------

    def token_stats(self, token: str) -> TokenStats:
        return self.stats.setdefault(token, TokenStats())

    def live_connections(self, token: str) -> list[Connection]:
        # Through the bot user's sessions, not every session: each IDENTIFY and close asks this (SessionWatch), and
        # a scan of all sessions made a start of N bots O(N^2) in the emulator (at 3,000 bots, seconds of its loop).
        app = self.state.apps.get(token)
        if app is None:
            return []
        return [
            s.conn
            for s in self._sessions_of(app.user.id)
            if s.app.token == token and s.conn is not None and s.conn.alive and s.ready
        ]

    # --- dispatch ---------------------------------------------------------------------------------

    def _sessions_of(self, user_id: int) -> list[Session]:
        return self._by_user.get(user_id, [])

    def _can_view(self, guild: Guild, channel: Channel, user_id: int) -> bool:
        member = guild.members.get(user_id)
        if member is None:
            return False
        return bool(channel_permissions(guild, channel, member, utcnow()) & P.VIEW_CHANNEL)

    def _deliver(
        self, session: Session, user_id: int, event: str, data: dict[str, Any], in_guild: bool, about_user: int | None
    ) -> None:
        if not intent_rules.wants(session.intents, event, in_guild=in_guild, about_self=about_user == user_id):
            return
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            has_content = bool(session.intents & Intent.MESSAGE_CONTENT)
            if not intent_rules.can_see_content(data, user_id, has_content):
                data = intent_rules.redact_content(data)
        session.dispatch(event, data)

    def dispatch_guild(
        self,
        guild: Guild,
        event: str,
        data: dict[str, Any],
        *,
        channel: Channel | None = None,
        about_user: int | None = None,
    ) -> None:
        """Send to every bot session in `guild` that may see it (intents, shard, VIEW_CHANNEL)."""
        bots = self._by_user
        candidates: Iterable[int] = guild.members if len(guild.members) < len(bots) else list(bots)
        for user_id in list(candidates):
            if user_id not in guild.members:
                continue
            sessions = bots.get(user_id)
            if not sessions:
                continue
            if channel is not None and not self._can_view(guild, channel, user_id):
                continue
            for session in list(sessions):
                if session.owns_guild(guild.id):
                    self._deliver(session, user_id, event, data, True, about_user)

    def dispatch_dm(self, channel: Channel, event: str, data: dict[str, Any]) -> None:
        for user_id in channel.recipients:
            for session in list(self._sessions_of(user_id)):
                if session.shard is None or session.shard[0] == 0:
                    self._deliver(session, user_id, event, data, False, None)

    def dispatch_user(self, user_id: int, guild: Guild, event: str, data: dict[str, Any]) -> None:
        """An event for one bot only (e.g. GUILD_CREATE when it joins, GUILD_DELETE when it is removed)."""
        for session in list(self._sessions_of(user_id)):
            if session.owns_guild(guild.id):
                self._deliver(session, user_id, event, data, True, user_id)

    def dispatch_bot(self, user_id: int, guild_id: int | None, event: str, data: dict[str, Any]) -> None:
        """An event addressed to one application (INTERACTION_CREATE): the shard owning the guild, or shard 0.

        Buffered like any dispatch, so a bot that is away gets it on RESUME.
        """
        for session in list(self._sessions_of(user_id)):
            if guild_id is not None:
                owns = session.owns_guild(guild_id)
            else:
                owns = session.shard is None or session.shard[0] == 0
            if owns:
                self._deliver(session, user_id, event, data, guild_id is not None, None)

    def guild_joined(self, user_id: int, guild: Guild) -> None:
        """A bot that joins a guild gets the full GUILD_CREATE, built for its own intents."""
        for session in list(self._sessions_of(user_id)):
            if session.owns_guild(guild.id) and session.intents & Intent.GUILDS:
                session.dispatch("GUILD_CREATE", self.guild_create_for(session, guild))

    def guild_create_for(self, session: Session, guild: Guild) -> dict[str, Any]:
        all_members = bool(session.intents & Intent.GUILD_MEMBERS)
        voice = bool(session.intents & Intent.GUILD_VOICE_STATES)
        return payloads.guild_create(self.state, guild, session.app.user.id, all_members=all_members, voice=voice)

    # --- control ----------------------------------------------------------------------------------

    def reconnect(self, token: str) -> int:
        conns = self.live_connections(token)
        for conn in conns:
            conn.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})
        return len(conns)

    def drop(self, token: str) -> int:
        conns = self.live_connections(token)
        for conn in conns:
            conn.abort()
        return len(conns)

    def invalidate(self, token: str) -> int:
        """Forget every session of `token`: its next RESUME gets op 9."""
        app = self.state.apps.get(token)
        dropped = [s for s in self._sessions_of(app.user.id) if s.app.token == token] if app is not None else []
        for session in dropped:
            self._forget(session)
            if session.conn is not None:
                session.conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
        return len(dropped)

    async def close_all(self) -> None:
        for conn in list(self.connections):
            conn.close(1001, "Emulator stopping")
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001), 1.0)
            conn.abort()
            await conn.stop()

    # --- websocket handler ------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # No permessage-deflate: payloads are already zlib/zstd streams when the client asks for them.
        ws = web.WebSocketResponse(compress=False, autoping=True, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        conn = Connection(ws, request, request.query.get("compress"))
        self.compressions.append(request.query.get("compress"))
        self.connections.add(conn)
        conn.send(
            {"op": OP_HELLO, "d": {"heartbeat_interval": self.config.heartbeat_interval_ms}, "s": None, "t": None}
        )
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._on_frame(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._on_closed(conn, ws.close_code)
            self.connections.discard(conn)
            await conn.stop()
        return ws

    def _on_closed(self, conn: Connection, code: int | None) -> None:
        session = conn.session
        if session is None or session.conn is not conn:
            return
        session.conn = None
        session.ready = False
        if code in _SESSION_ENDING_CLOSES and not conn.closing:
            self._forget(session)
        self.watch.changed(session.app.token)

    def _forget(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self.watch.changed(session.app.token)
        peers = self._by_user.get(session.app.user.id, [])
        if session in peers:
            peers.remove(session)
        if not peers:
            self._by_user.pop(session.app.user.id, None)

    def _on_frame(self, conn: Connection, raw: str | bytes) -> None:
        try:
            payload = json.loads(raw)
            op = payload["op"]
        except (ValueError, TypeError, KeyError):
            conn.close(4002, "Error while decoding payload.")
            return
        raw_data = payload.get("d")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if op == OP_HEARTBEAT:
            if conn.session is not None:
                token = conn.session.app.token
                self.token_stats(token).heartbeats += 1
                if token in self.unacked_heartbeats:
                    return
            ack = {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None}
            delay = self.config.heartbeat_ack_delay_ms / 1000
            if delay > 0:
                asyncio.get_running_loop().call_later(delay, conn.send, ack)
            else:
                conn.send(ack)
        elif op == OP_IDENTIFY:
            self._identify(conn, data)
        elif op == OP_RESUME:
            self._resume(conn, data)
        elif conn.session is None:
            conn.close(4003, "Not authenticated.")
        elif op == OP_REQUEST_GUILD_MEMBERS:
            self._request_members(conn.session, data)
        elif op == OP_VOICE_STATE_UPDATE:
            if self.on_voice_state is not None:
                self.on_voice_state(conn.session, data)
        elif op == OP_PRESENCE_UPDATE:
            pass  # accepted and ignored: no presence model here
        else:
            conn.close(4001, "Unknown opcode.")

    def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            conn.close(4005, "Already authenticated.")
            return
        app = self.state.apps.get(str(data.get("token", "")).removeprefix("Bot "))
        if app is None:
            conn.close(4004, "Authentication failed.")
            return
        if app.identify_close_code is not None:
            conn.close(app.identify_close_code, "Refused by the test.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED & ~app.privileged_intents:
            conn.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None:
            if not (isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
                conn.close(4010, "Invalid shard.")
                return
            shard = (int(shard[0]), int(shard[1]))
        session = Session(
            id=self.state.new_session_id(),
            app=app,
            intents=intents,
            shard=shard,
            buffer=deque(maxlen=self.config.replay_buffer),
            conn=conn,
            ready=True,
        )
        # A client that IDENTIFYs again has given up its old disconnected session for this shard; dropping
        # it keeps restarted bots from piling up sessions that buffer every event.
        for stale in [s for s in self._sessions_of(app.user.id) if s.conn is None and s.shard == shard]:
            self._forget(stale)
        self.sessions[session.id] = session
        self._by_user.setdefault(app.user.id, []).append(session)
        conn.session = session
        conn.payload_compress = data.get("compress") is True
        self.token_stats(app.token).identifies += 1
        self.watch.changed(app.token)

        guilds = [g for g in self.state.guilds_of(app.user.id) if session.owns_guild(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**payloads.user(app.user), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.config.url,
            "application": {"id": str(app.id), "flags": intent_rules.application_flags(app.privileged_intents)},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["discord-supervisor-emulator"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        session.dispatch("READY", ready)
        if intents & Intent.GUILDS:
            for guild in guilds:
                if guild.id not in self.withheld_guilds:
                    session.dispatch("GUILD_CREATE", self.guild_create_for(session, guild))

    def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        token = str(data.get("token", "")).removeprefix("Bot ")
        seq = data.get("seq")
        if (
            session is None
            or session.app.token != token
            or not isinstance(seq, int)
            or seq > session.seq
            # Events after `seq` fell out of the replay buffer: the session cannot be made whole.
            or (session.buffer and session.buffer[0]["s"] > seq + 1)
        ):
            if session is None and token in self.state.apps:
                self.token_stats(token).invalidated += 1
            conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        old = session.conn
        if old is not None and old is not conn:
            old.close(4000, "Session resumed elsewhere.")
        session.conn = conn
        conn.session = session
        stats = self.token_stats(token)
        for payload in session.buffer:
            if payload["s"] > seq:
                conn.send(payload)
                stats.replayed += 1
        session.ready = True
        stats.resumes += 1
        self.watch.changed(token)
        session.dispatch("RESUMED", {"_trace": ["discord-supervisor-emulator"]})

    def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        guild_ids = data.get("guild_id")
        if not isinstance(guild_ids, list):
            guild_ids = [guild_ids]
        query = data.get("query")
        limit = int(data.get("limit") or 0)
        user_ids = data.get("user_ids")
        if user_ids is not None and not isinstance(user_ids, list):
            user_ids = [user_ids]
        wanted = None if user_ids is None else {int(u) for u in user_ids}
        for raw_id in guild_ids:
            guild = self.state.guilds.get(int(raw_id))
            if guild is None or session.app.user.id not in guild.members:
                continue
            members = list(guild.members.values())
            if wanted is not None:
                members = [m for m in members if m.user_id in wanted]
            elif query:
                q = str(query).lower()
                members = [
                    m
                    for m in members
                    if self.state.users[m.user_id].username.lower().startswith(q)
                    or (m.nick or "").lower().startswith(q)
                ]
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [payloads.member(self.state, m) for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [] if wanted is None else [str(u) for u in wanted - {m.user_id for m in members}],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            if data.get("presences"):
                chunk["presences"] = []
            session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
