"""Gateway heartbeats as event-loop timers instead of one OS thread per connection.

discord.py keeps each gateway connection alive from a thread of its own (`KeepAliveHandler`): it sleeps the
heartbeat interval (41.25 s from Discord), then hands the heartbeat to the event loop and waits for it to be
sent. At 10,000 bots that is 10,000 OS threads (this box's pid_max is 32,768), each with its stack and a Python
thread state, and every wake-up asks the event loop's thread for the GIL. Here the same work is a timer on the
loop: `LoopKeepAlive` keeps discord.py's semantics (its log lines become constant events):
- a heartbeat every `interval` seconds after the previous one was sent, or up to a slot sooner (below); the first
  is sent by discord.py at HELLO;
- the gateway's ACK sets `latency` (the time since the heartbeat was sent) and logs "Can't keep up" beyond 10 s;
- when nothing at all was received for the client's `heartbeat_timeout` (a zombie connection), it closes the
  websocket with 4000, which discord.py answers by reconnecting and RESUMEing;
- a heartbeat that cannot be sent ends the keep-alive (the connection is going down anyway).
What the thread could also do, report a loop blocked for over 10 s with its traceback, is the daemon's watchdog's
job (supervisor/daemon/watchdog.py): a timer on a blocked loop cannot notice it is blocked.

At idle, heartbeats are most of what the daemon does (242 a second at 10,000 bots). The connections share their
timers: a heartbeat falls due in a slot of a quarter of a second (`HeartbeatSchedule`), at most a slot before its
interval is over (Discord wants one at least every interval), with every other one due in that slot. It is sent
from the slot's callback itself, without a task: aiohttp writes an uncompressed frame to the transport at once and
suspends only for flow control (a peer that stopped reading), and only then does the rest of the send go to a
task. Its payload is formatted, not JSON-encoded (`{"op":1,"d":<sequence>}`). bench/heartbeat_cost.py measures
the CPU per heartbeat.

Voice connections keep discord.py's own thread (`VoiceKeepAliveHandler` subclasses the original class).
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import time
from collections.abc import Coroutine
from typing import Any

import discord.gateway

from supervisor.logs import get_logger
from supervisor.runtime.containment import must_contain, owner
from supervisor.runtime.per_loop import PerLoop

log = get_logger("supervisor.heartbeats")  # each line carries the instance (bound in the runner's context)

# Heartbeats fall due in slots of SLOT_SECONDS (or an eighth of the interval, if that is shorter): one timer per
# slot for every connection due in it, each sent up to a slot early, never late.
SLOT_SECONDS = 0.25
SLOTS_PER_INTERVAL = 8


class HeartbeatSchedule:
    """One event loop's heartbeats, grouped by the slot they fall due in.

    A timer per connection costs the loop a wake-up, a TimerHandle in a heap of 10,000 (its comparisons are Python
    calls) and the containment's guard, per heartbeat; the ACKs then come back one per loop turn. Grouped, a slot's
    heartbeats go out in one timer callback and their ACKs are read together, a few per turn (io_turns.py). A slot
    holds a quarter of a second's heartbeats: about 60 at 10,000 bots, a few milliseconds of the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._slots: dict[tuple[float, int], dict[LoopKeepAlive, None]] = {}
        self._timers: dict[tuple[float, int], asyncio.TimerHandle] = {}
        self._no_instance = contextvars.Context()  # the slot's timer is nobody's; each heartbeat runs in its own

    def add(self, keep_alive: LoopKeepAlive, delay: float) -> tuple[float, int]:
        """Have `keep_alive._due` called in the slot where `delay` from now falls; returns that slot."""
        width = min(SLOT_SECONDS, delay / SLOTS_PER_INTERVAL)
        slot = (width, math.floor((self.loop.time() + delay) / width))
        members = self._slots.get(slot)
        if members is None:
            members = self._slots[slot] = {}
            self._timers[slot] = self.loop.call_at(slot[0] * slot[1], self._fire, slot, context=self._no_instance)
        members[keep_alive] = None
        return slot

    def discard(self, keep_alive: LoopKeepAlive, slot: tuple[float, int]) -> None:
        members = self._slots.get(slot)
        if members is None or keep_alive not in members:
            return
        del members[keep_alive]
        if not members:
            del self._slots[slot]
            self._timers.pop(slot).cancel()

    def _fire(self, slot: tuple[float, int]) -> None:
        del self._timers[slot]
        for keep_alive in self._slots.pop(slot, {}):
            try:
                keep_alive.context.run(keep_alive._due)
            except BaseException as error:  # one connection's fault is its own: the rest of the slot still beats
                keep_alive.context.run(self._report, keep_alive, error)

    def _report(self, keep_alive: LoopKeepAlive, error: BaseException) -> None:
        crash = owner.get()
        if crash is not None and must_contain(error):
            crash(f"heartbeat of shard {keep_alive.shard_id} raised {error!r}", error)  # its instance restarts
            return
        self.loop.call_exception_handler({"message": "gateway heartbeat failed", "exception": error})


heartbeat_schedule = PerLoop("heartbeat_schedule", HeartbeatSchedule)  # the process's bots share their loop's


class LoopKeepAlive:
    """discord.py's KeepAliveHandler interface (start, stop, tick, ack, beat, get_payload, latency) on timers."""

    def __init__(self, *args: Any, ws: Any, interval: float | None = None, shard_id: int | None = None,
                 **kwargs: Any) -> None:
        self.ws = ws
        self.interval = interval
        self.shard_id = shard_id
        now = time.perf_counter()
        self._last_ack = now
        self._last_send = now
        self._last_recv = now
        self.latency = float("inf")
        self.heartbeat_timeout: float = ws._max_heartbeat_timeout
        self.context = contextvars.copy_context()  # its bot's: where each heartbeat runs (and crashes)
        self._schedule_of = heartbeat_schedule(ws.loop)
        self._slot: tuple[float, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        if hasattr(ws.socket, "keep_alive"):  # gateway_reads.TurnTakingWebSocketResponse: it hands ACKs here
            ws.socket.keep_alive = self

    def start(self) -> None:
        self._schedule()

    def stop(self) -> None:
        self._stopped = True
        if self._slot is not None:
            self._schedule_of.discard(self, self._slot)
            self._slot = None

    def is_alive(self) -> bool:
        return not self._stopped

    def _schedule(self) -> None:
        if not self._stopped and self.interval is not None:
            self._slot = self._schedule_of.add(self, self.interval)

    def _due(self) -> None:
        self._slot = None
        if self._stopped:
            return
        if self._last_recv + self.heartbeat_timeout < time.perf_counter():
            self._task = self.ws.loop.create_task(self._close_zombie(), name=f"heartbeat:shard-{self.shard_id}")
            return
        # Noted before sending: on loopback the ACK can be read before the send returns.
        self._last_send = time.perf_counter()
        sending = self.ws.socket.send_str(self._payload_text())
        try:
            waiting_on = sending.send(None)  # the send's first step, here: it writes the frame
        except StopIteration:  # sent, without suspending (the usual case)
            self._schedule()
            return
        except Exception:  # the connection is going down; discord.py's reader will see it
            self.stop()
            return
        self._task = self.ws.loop.create_task(self._finish_send(sending, waiting_on),
                                              name=f"heartbeat:shard-{self.shard_id}")

    async def _finish_send(self, sending: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        """The rest of a send that suspended for flow control, stepped as a task would step it."""
        try:
            while True:
                if isinstance(waiting_on, asyncio.Future):
                    waiting_on._asyncio_future_blocking = False  # what Task.__step does with a yielded future
                    await asyncio.wait([waiting_on])  # its result or error is the send's to read, below
                else:  # a bare yield (asyncio.sleep(0))
                    await asyncio.sleep(0)
                waiting_on = sending.send(None)
        except StopIteration:
            self._schedule()
        except asyncio.CancelledError:
            sending.close()
            raise
        except Exception:
            self.stop()

    async def _close_zombie(self) -> None:
        log.warning("gateway_not_responding", shard_id=self.shard_id, seconds=self.heartbeat_timeout)
        try:
            await self.ws.close(4000)
        except Exception as error:
            log.warning("gateway_close_failed", shard_id=self.shard_id, error=repr(error))
        finally:
            self.stop()

    def _payload_text(self) -> str:
        sequence = self.ws.sequence
        return f'{{"op":{self.ws.HEARTBEAT},"d":{"null" if sequence is None else int(sequence)}}}'

    def get_payload(self) -> dict[str, Any]:
        return {"op": self.ws.HEARTBEAT, "d": self.ws.sequence}

    def tick(self) -> None:
        self._last_recv = time.perf_counter()

    def beat(self) -> dict[str, Any]:
        """The gateway asked for a heartbeat (op 1): discord.py sends what this returns at once."""
        self._last_send = time.perf_counter()
        return self.get_payload()

    def ack(self) -> None:
        ack_time = time.perf_counter()
        self._last_ack = ack_time
        self.latency = ack_time - self._last_send
        if self.latency > 10:  # discord.py's "Can't keep up"
            log.warning("gateway_heartbeat_behind", shard_id=self.shard_id, seconds=round(self.latency, 1))


def use_loop_heartbeats() -> None:
    """Every gateway connection made from now on in this process keeps alive with LoopKeepAlive (process-global:
    discord.py looks the class up in its gateway module at each HELLO)."""
    discord.gateway.KeepAliveHandler = LoopKeepAlive  # type: ignore[misc,assignment]
