"""Every lease of one daemon: one lease session per database (supervisor/hosts/session.py), placement options,
and the drain switch.

A lease is a session-level advisory lock keyed by the instance's schema, held for as long as the instance runs,
fenced in time (supervisor/hosts/timing.py). Postgres drops it when the session ends, kill -9 of its daemon
included, and the other daemons sharing the database take the instance over within seconds.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from supervisor.dburl import database_identity, redact_url
from supervisor.hosts.holder import Holder, Identity, LeaseInterrupted, LeaseUser, describe_holder, holder_name
from supervisor.hosts.lease_thread import LeaseThread
from supervisor.hosts.session import LeaseSession
from supervisor.hosts.tables import DEFAULT_FLEET_SCHEMA, FleetTables
from supervisor.logs import get_logger

__all__ = ["Holder", "HostOptions", "LeaseInterrupted", "LeaseUser", "Leases", "describe_holder", "holder_name"]


@dataclass(frozen=True)
class HostOptions:
    capacity: float = 1.0  # this daemon's share of the fleet, relative to the other daemons' capacities
    standby: bool = False  # take an instance only when no daemon without --standby has it
    fleet_schema: str = DEFAULT_FLEET_SCHEMA
    node: str | None = None  # this daemon's stable name for placement; default: the host name
    peers: tuple[str, ...] = ()  # `run --workers N`: every worker's node; each waits for the others at start


class Leases:
    """Every lease of one daemon, one session per database."""

    def __init__(self, options: HostOptions | None = None) -> None:
        self.options = options or HostOptions()
        host = socket.gethostname()
        self.identity = Identity(daemon_id=f"{host}:{os.getpid()}:{secrets.token_hex(4)}",
                                 node=self.options.node or host, host=host, pid=os.getpid(), started=time.time())
        self.tables = FleetTables(self.options.fleet_schema)
        self.draining = False
        self.closed = False
        self.log = get_logger("supervisor.leases")
        self._sessions: dict[tuple[object, ...], LeaseSession] = {}
        self._thread: LeaseThread | None = None

    def thread(self) -> LeaseThread:
        """The thread every lease connection of this daemon lives on (started with the first)."""
        if self._thread is None:
            self._thread = LeaseThread()
        return self._thread

    def _session(self, url: str) -> LeaseSession:
        key = database_identity(url)
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = LeaseSession(url, self)
        return session

    async def try_acquire(self, url: str, schema: str, user: LeaseUser) -> Holder | None:
        """Take the lease of `schema`: None when it is ours and the bot may start, else where it runs or is
        placed. Raises DatabaseError."""
        if self.closed:
            raise LeaseInterrupted("the daemon is stopping")
        return await self._session(url).try_acquire(schema, user)

    async def release(self, url: str, schema: str) -> None:
        session = self._sessions.get(database_identity(url))
        if session is not None:
            await session.release(schema)

    async def wait_turn(self, url: str, schema: str, seconds: float) -> None:
        """Sleep `seconds`, or less when another daemon releases this instance's lease meanwhile."""
        await self._session(url).wait_turn(schema, seconds)

    def forget(self, url: str, schema: str, user: LeaseUser) -> None:
        """This daemon no longer has the instance: its row in the fleet table goes."""
        session = self._sessions.get(database_identity(url))
        if session is not None:
            session.forget(schema, user)

    def mark(self, url: str, schema: str) -> None:
        """The instance's state changed: its row in the fleet table is written at the next heartbeat."""
        session = self._sessions.get(database_identity(url))
        if session is not None:
            session.mark(schema)

    def guard(self, url: str, schema: str, user: LeaseUser) -> Callable[[], bool]:
        """True while `user` holds the lease of `schema` and it was confirmed within the fencing bound."""
        session = self._session(url)
        return lambda: session.confirmed(schema, user)

    def set_draining(self, draining: bool) -> None:
        self.draining = draining
        for session in self._sessions.values():
            session.poke()

    def drain_report(self) -> dict[str, list[str]]:
        """The instances this daemon still holds or is handing over, and those no other daemon can take."""
        held: list[str] = []
        kept: list[str] = []
        for session in self._sessions.values():
            moving = session.moving()
            if moving is not None and moving not in held:
                held.append(moving)  # handed over, not yet running there: still ours to wait for
            for schema, user in session.held.items():
                held.append(user.instance_name)
                if session.nobody_else(schema):
                    kept.append(user.instance_name)
        return {"held": sorted(held), "kept": sorted(kept)}

    async def fleet(self) -> list[dict[str, object]]:
        """Every instance of every daemon on this daemon's databases, from the fleet tables."""
        rows: list[dict[str, object]] = []
        for session in list(self._sessions.values()):
            try:
                found = await session.fleet_rows()
            except Exception as error:  # one unreachable database must not hide the others
                self.log.warning("fleet_rows_unavailable", database=redact_url(session.url), error=repr(error))
                continue
            rows.extend(row | {"database": redact_url(session.url)} for row in found)
        return rows

    async def close(self) -> None:
        self.closed = True
        await asyncio.gather(*(session.close() for session in self._sessions.values()), return_exceptions=True)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.stop)
