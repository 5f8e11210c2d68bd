"""Gateway reads that take turns: a burst of messages to many bots is handled a few per event-loop turn.

discord.py reads the gateway in a loop (`DiscordWebSocket.poll_event`) that suspends only when aiohttp has no
frame queued. Each message it parses schedules a task per listener (`on_message` of every feature, the
command processor), and those tasks run only once the loop suspends. Two things follow:

- A bot that falls behind has hundreds of frames queued and would parse them all first: with 20 busy bots,
  bench/chatter.py saw 39,000 tasks pending at once and a million more Python objects than at rest (freed a
  moment later, but CPython keeps the arenas they took: RSS kept about +3 MB per busy bot for good). Yielding
  to the event loop before each message lets the previous message's tasks run first.
- When a thousand bots get a message at once (a burst), every one of them is ready in the same loop turn, and
  asyncio runs everything ready in a turn before it looks at its timers again: one turn parsed and dispatched a
  thousand messages, and every bot of the process (heartbeats, the lease heartbeat, the watchdog) waited for
  it, 0.5-1.8 s at 1,000-3,000 bots.

So each message, once aiohttp has read its frame, waits for its turn: at most PER_TURN messages of the whole
process start their handling in one loop turn, first come first served, and the rest in the next turns.
Heartbeat ACKs and closes skip the queue (microseconds each).
The work and its order stay the same; between turns the loop runs its timers and other I/O, so a burst delays
each bot's reply by its place in the queue, and no timer by more than a turn. One more loop turn per gateway
message costs microseconds. Voice websockets read through the same class: they take turns too, harmlessly
(a few small messages a minute).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections import deque
from typing import Any

import aiohttp
import discord.gateway
import discord.http

from supervisor.runtime.per_loop import PerLoop

# Messages per loop turn: parsing and dispatching one costs about 0.3-1 ms of the loop (bench/tenk.py's burst),
# so a turn of new messages stays within a few tens of milliseconds.
PER_TURN = 16
# Text messages this short skip the queue: the gateway's heartbeat ACK (`{"op":11,"d":null,"s":null,"t":null}` or
# shorter, 40 bytes), whose lateness discord.py would count as latency and, past a minute, as a dead connection.
CONTROL_SIZE = 64
HEARTBEAT_ACK = discord.gateway.DiscordWebSocket.HEARTBEAT_ACK
_PAYLOADS = (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)  # BINARY: a large payload, zlib-compressed


class ReadTurns:
    """One event loop's queue of gateway messages waiting to be handled, PER_TURN of them per loop turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop, per_turn: int = PER_TURN) -> None:
        self.loop = loop
        self.per_turn = per_turn
        self.admitted = 0  # messages let through since the last turn began
        self.waiting: deque[asyncio.Future[None]] = deque()
        self._turn_scheduled = False
        self._no_instance = contextvars.Context()  # the next-turn callback is nobody's (containment.py)

    async def turn(self) -> None:
        """Return in this loop turn's share, or once the messages queued before this one have had theirs."""
        self._schedule_next_turn()
        if not self.waiting and self.admitted < self.per_turn:
            self.admitted += 1
            await asyncio.sleep(0)  # the previous message's listeners run first
            return
        waiter = self.loop.create_future()
        self.waiting.append(waiter)
        await waiter  # cancelled (the bot closes): the next turn skips it

    def _schedule_next_turn(self) -> None:
        if not self._turn_scheduled:
            self._turn_scheduled = True
            self.loop.call_soon(self._next_turn, context=self._no_instance)

    def _next_turn(self) -> None:
        """Runs once per loop turn while messages come: lets the next PER_TURN waiting ones through."""
        self._turn_scheduled = False
        self.admitted = 0
        while self.waiting and self.admitted < self.per_turn:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.admitted += 1
        if self.waiting or self.admitted:
            self._schedule_next_turn()


_turns_of = PerLoop("read_turns", ReadTurns)


def read_turns() -> ReadTurns:
    """The running loop's queue (one per loop: the process's bots share it, each test's loop has its own)."""
    return _turns_of(asyncio.get_running_loop())


@functools.lru_cache(maxsize=64)
def is_heartbeat_ack(text: str) -> bool:
    """A gateway heartbeat ACK (op 11); called only for short texts (at most CONTROL_SIZE). Cached: a gateway
    sends the same ACK text every time, and decoding it was a tenth of a heartbeat's cost (bench/heartbeat_cost.py)."""
    try:
        payload = json.loads(text)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("op") == HEARTBEAT_ACK


class TurnTakingWebSocketResponse(discord.gateway.DiscordClientWebSocketResponse):
    """discord.py's websocket response (its close code kept): each message read waits for its turn, and a
    heartbeat ACK goes straight to the connection's LoopKeepAlive (`keep_alive`, set by it)."""

    keep_alive: Any = None

    async def receive(self, timeout: float | None = None) -> aiohttp.WSMessage:
        while True:
            # discord.py reads with a timeout of heartbeat_timeout: a connection that received nothing for that
            # long is dead. A running LoopKeepAlive checks the same at each heartbeat and closes such a connection
            # (4000, resumed), so then the read needs no timer of its own: aiohttp's costs a Timeout, a timer and
            # its cancellation per message (a tenth of a heartbeat's cost, bench/heartbeat_cost.py). A dead
            # connection is then noticed at the first heartbeat after heartbeat_timeout, up to one interval later.
            keep_alive = self.keep_alive
            message = await super().receive(None if keep_alive is not None and keep_alive.is_alive() else timeout)
            if message.type in _PAYLOADS and len(message.data) > CONTROL_SIZE:
                await read_turns().turn()
                return message
            # What discord.py does with an ACK is tick() and ack() (the sequence is null): done here, it costs no
            # JSON decode of discord.py's, no trip through its poll loop and no loop turn (a quarter of what a
            # heartbeat cost at idle, bench/heartbeat_cost.py).
            if keep_alive is not None and message.type is aiohttp.WSMsgType.TEXT and is_heartbeat_ack(message.data):
                keep_alive.tick()
                keep_alive.ack()
                continue
            await asyncio.sleep(0)  # a close, a short message: microseconds of work; no queue, one turn
            return message


def use_turn_taking_reads() -> None:
    """Every Bot that logs in from now on in this process reads its gateway through TurnTakingWebSocketResponse
    (process-global: discord.py names the class when a bot's HTTP session is created at login)."""
    discord.http.DiscordClientWebSocketResponse = TurnTakingWebSocketResponse  # type: ignore[misc]
