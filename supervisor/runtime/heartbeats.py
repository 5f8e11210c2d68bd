"""Gateway heartbeats as event-loop timers instead of one OS thread per connection.

discord.py keeps each gateway connection alive from a thread of its own (`KeepAliveHandler`): it sleeps the
heartbeat interval (41.25 s from Discord), then hands the heartbeat to the event loop and waits for it to be
sent. At 10,000 bots that is 10,000 OS threads (this box's pid_max is 32,768), each with its stack and a Python
thread state, and every wake-up asks the event loop's thread for the GIL. Here the same work is a timer on the
loop: `LoopKeepAlive` keeps discord.py's semantics (its log lines become constant events):
- a heartbeat every `interval` seconds after the previous one was sent (the first is sent by discord.py at HELLO);
- the gateway's ACK sets `latency` (the time since the heartbeat was sent) and logs "Can't keep up" beyond 10 s;
- when nothing at all was received for the client's `heartbeat_timeout` (a zombie connection), it closes the
  websocket with 4000, which discord.py answers by reconnecting and RESUMEing;
- a heartbeat that cannot be sent ends the keep-alive (the connection is going down anyway).
What the thread could also do, report a loop blocked for over 10 s with its traceback, is the daemon's watchdog's
job (supervisor/daemon/watchdog.py): a timer on a blocked loop cannot notice it is blocked.

At idle, heartbeats are most of what the daemon does (242 a second at 10,000 bots), so a heartbeat is sent from the
timer's callback itself, without a task: aiohttp writes an uncompressed frame to the transport at once and
suspends only for flow control (a peer that stopped reading), and only then does the rest of the send go to a
task. Its payload is formatted, not JSON-encoded (`{"op":1,"d":<sequence>}`). bench/heartbeat_cost.py measures
the CPU per heartbeat.

Voice connections keep discord.py's own thread (`VoiceKeepAliveHandler` subclasses the original class).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import discord.gateway

from supervisor.logs import get_logger

log = get_logger("supervisor.heartbeats")  # each line carries the instance (bound in the runner's context)


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
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        if hasattr(ws.socket, "keep_alive"):  # gateway_reads.TurnTakingWebSocketResponse: it hands ACKs here
            ws.socket.keep_alive = self

    def start(self) -> None:
        self._schedule()

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def is_alive(self) -> bool:
        return not self._stopped

    def _schedule(self) -> None:
        if not self._stopped and self.interval is not None:
            self._timer = self.ws.loop.call_later(self.interval, self._due)

    def _due(self) -> None:
        self._timer = None
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
