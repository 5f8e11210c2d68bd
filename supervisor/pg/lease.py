"""One running copy of each instance across machines: a lease in the instance's own database.

A lease is a session-level advisory lock keyed by the instance's schema, held on one dedicated connection per
database per daemon (not per instance) for as long as the instance runs. Postgres drops it the moment that
session ends, kill -9 of its daemon included, so a second daemon sharing the instances tree and the database
(a standby host) polls, takes the instance over within seconds, and shows the holder meanwhile.

That connection is the one a daemon keeps open even when its bots are idle: one per database, not per instance.
If it is lost (Postgres restarted), the leases are taken again on a new one; an instance whose lease another
daemon took in between is restarted, and then waits as "running elsewhere".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from supervisor.database import DatabaseError, connect, explain
from supervisor.dburl import database_identity
from supervisor.logs import get_logger

LEASE_CLASS = 0x44535550  # "DSUP": the first key of every lease; the second is hashtext(schema)
KEEPALIVE_SECONDS = 5.0  # also notices a lost session on an idle connection
QUERY_TIMEOUT = 10.0
APPLICATION_PREFIX = "discord-supervisor lease"

_TRY = "SELECT pg_try_advisory_lock($1::int, hashtext($2))"
_UNLOCK = "SELECT pg_advisory_unlock($1::int, hashtext($2))"
_HOLDER = (
    "SELECT a.application_name, a.client_hostname, host(a.client_addr) AS addr FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
    "AND l.classid = $1::int::oid AND l.objid = hashtext($2)::oid AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
)


def holder_name() -> str:
    return f"{APPLICATION_PREFIX} {socket.gethostname()} {os.getpid()}"[:63]


def describe_holder(row: asyncpg.Record | None) -> str:
    """'host H, pid P' from the holder's application_name, else what Postgres knows of its address."""
    if row is None:
        return "another daemon"
    name = row["application_name"] or ""
    if name.startswith(APPLICATION_PREFIX):
        parts = name[len(APPLICATION_PREFIX):].split()
        if len(parts) == 2:
            return f"host {parts[0]}, pid {parts[1]}"
    where = row["client_hostname"] or row["addr"]
    return f"another daemon at {where}" if where else "another daemon on this database"


@dataclass
class _DatabaseLeases:
    url: str
    connection: asyncpg.Connection | None = None
    held: dict[str, Callable[[], None]] = field(default_factory=dict)  # schema -> what to do if it is lost
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one query at a time on the connection
    keeper: asyncio.Task[None] | None = None


class Leases:
    """Every lease of one daemon, one connection per database."""

    def __init__(self) -> None:
        self.log = get_logger("supervisor.leases")
        self._databases: dict[tuple[object, ...], _DatabaseLeases] = {}
        self._closed = False

    async def try_acquire(self, url: str, schema: str, on_lost: Callable[[], None]) -> str | None:
        """Take the lease of `schema`: None when it is ours now, else who holds it. Raises DatabaseError."""
        db = self._databases.setdefault(database_identity(url), _DatabaseLeases(url))
        async with db.lock:
            if schema in db.held:
                db.held[schema] = on_lost
                return None
            connection = await self._connection(db)
            try:
                if await connection.fetchval(_TRY, LEASE_CLASS, schema, timeout=QUERY_TIMEOUT):
                    db.held[schema] = on_lost
                    return None
                row = await connection.fetchrow(_HOLDER, LEASE_CLASS, schema, timeout=QUERY_TIMEOUT)
            except Exception as error:
                await self._drop_connection(db)
                raise DatabaseError(explain(error, url)) from error
            return describe_holder(row)

    async def release(self, url: str, schema: str) -> None:
        db = self._databases.get(database_identity(url))
        if db is None or schema not in db.held:
            return
        async with db.lock:
            db.held.pop(schema, None)
            if db.connection is not None and not db.connection.is_closed():
                try:
                    await db.connection.fetchval(_UNLOCK, LEASE_CLASS, schema, timeout=QUERY_TIMEOUT)
                except Exception as error:  # the session is going anyway: its locks go with it
                    self.log.warning("lease_not_released", schema=schema, error=repr(error))
                    await self._drop_connection(db)

    async def close(self) -> None:
        self._closed = True
        for db in self._databases.values():
            if db.keeper is not None:
                db.keeper.cancel()
                await asyncio.gather(db.keeper, return_exceptions=True)
            await self._drop_connection(db)

    # -- the connection ---------------------------------------------------------------------------
    async def _connection(self, db: _DatabaseLeases) -> asyncpg.Connection:
        if db.connection is None or db.connection.is_closed():
            db.connection = await connect(db.url, timeout=QUERY_TIMEOUT, application_name=holder_name())
        if db.keeper is None or db.keeper.done():
            db.keeper = asyncio.get_running_loop().create_task(self._keep(db), name="lease-keeper")
        return db.connection

    async def _drop_connection(self, db: _DatabaseLeases) -> None:
        connection, db.connection = db.connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2.0)
            if not connection.is_closed():
                connection.terminate()

    async def _keep(self, db: _DatabaseLeases) -> None:
        """Notice a lost session, and take every held lease again on a new one."""
        while not self._closed:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            if not db.held:
                continue
            async with db.lock:
                try:
                    if db.connection is not None and not db.connection.is_closed():
                        await db.connection.fetchval("SELECT 1", timeout=QUERY_TIMEOUT)
                        continue
                except Exception as error:
                    self.log.warning("lease_connection_lost", error=repr(error))
                await self._drop_connection(db)
                await self._retake(db)

    async def _retake(self, db: _DatabaseLeases) -> None:
        try:
            connection = await connect(db.url, timeout=QUERY_TIMEOUT, application_name=holder_name())
        except Exception as error:
            self.log.warning("leases_not_retaken_database_unavailable", error=str(error))
            return  # the next round tries again; the instances are failing on that database meanwhile anyway
        db.connection = connection
        try:
            for schema, on_lost in list(db.held.items()):
                if not await connection.fetchval(_TRY, LEASE_CLASS, schema, timeout=QUERY_TIMEOUT):
                    self.log.warning("lease_taken_by_another_daemon", schema=schema)
                    del db.held[schema]
                    on_lost()
        except Exception as error:
            self.log.warning("leases_not_retaken", error=repr(error))
            await self._drop_connection(db)
