"""The connection budget: every pool on one PostgreSQL server shares a fixed number of connections.

A server accepts max_connections, less a few reserved for superusers. Hundreds of small pools can ask for far
more than that at once, and past the limit the server answers "too many clients already": the command fails.
Instead, each new connection first takes a slot from its server's budget and waits while none is free. A
connection gives its slot back when it closes, and while anybody waits, an idle connection in any pool is closed
at once (not after the idle timeout) to make room. A burst across many instances is then served in waves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg

HEADROOM = 5  # connections left outside the budget: a backup's pg_dump, `check --db`, an operator's psql
PATIENCE = 60.0  # seconds a new connection keeps retrying while the server is full of other clients' sessions

LIMITS_QUERY = """
SELECT current_setting('server_version') AS version,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int
           + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
       (SELECT coalesce(sum(numbackends), 0) FROM pg_stat_database)::int AS in_use,
       current_setting('max_locks_per_transaction')::int AS max_locks,
       current_setting('max_prepared_transactions')::int AS prepared
"""  # pg_stat_database, not pg_stat_activity: a role without pg_read_all_stats sees others' rows blanked


@dataclass(frozen=True)
class ServerLimits:
    version: str
    max_connections: int
    reserved: int  # superuser_reserved_connections + reserved_connections
    in_use: int  # connections open when read, the reading one included
    max_locks: int = 64  # max_locks_per_transaction: the lock table is sized from it
    prepared: int = 0  # max_prepared_transactions

    @property
    def lock_slots(self) -> int:
        """About how many locks the whole server can hold at once (session advisory locks included)."""
        return self.max_locks * (self.max_connections + self.prepared)

    @property
    def others(self) -> int:
        return max(0, self.in_use - 1)

    @property
    def ceiling(self) -> int:
        """What this process could hold open were it the server's only client: the limit, less reserved slots
        and headroom."""
        return self.max_connections - self.reserved - HEADROOM

    @property
    def budget(self) -> int:
        """What this process may hold open: the ceiling, less other clients' connections."""
        return max(1, self.ceiling - self.others)

    def needed_for(self, connections: int) -> int:
        """The max_connections at which `connections` would fit without waiting."""
        return connections + self.reserved + self.others + HEADROOM


async def read_limits(connection: asyncpg.Connection) -> ServerLimits:
    row = await connection.fetchrow(LIMITS_QUERY)
    assert row is not None
    return ServerLimits(row["version"], row["max_connections"], row["reserved"], row["in_use"], row["max_locks"],
                        row["prepared"])


LOCK_RESERVE = 2000  # lock slots kept for everything but the leases: a migration locks each table it creates


def lock_message(server: str, limits: ServerLimits, instances: int, how_to_raise: str) -> tuple[bool, str]:
    """Whether one lease lock per instance fits the server's lock table, and a sentence with the numbers."""
    wanted = instances + LOCK_RESERVE
    per_connection = -(-wanted // (limits.max_connections + limits.prepared))
    suggested = 1 << (per_connection - 1).bit_length()  # the next power of two
    arithmetic = (f"{instances} instances hold one advisory lock each (their leases) on {server}, whose lock table "
                  f"holds about {limits.lock_slots} (max_locks_per_transaction {limits.max_locks} x "
                  f"(max_connections {limits.max_connections} + max_prepared_transactions {limits.prepared}))")
    if wanted <= limits.lock_slots:
        return True, arithmetic + f", {LOCK_RESERVE} kept for migrations and other clients: they fit"
    return False, (arithmetic + f": with {LOCK_RESERVE} kept for migrations and other clients they do not fit, and "
                   f"starts fail with 'out of shared memory'. Set max_locks_per_transaction = {suggested} "
                   f"({how_to_raise})")


def server_key(url: str) -> str:
    """Which server a URL reaches (its connection limit is shared by every database and role on it)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    try:
        port = str(parts.port or 5432)
    except ValueError:
        port = "5432"
    host = query.get("host", [parts.hostname or "localhost"])[0]
    port = query.get("port", [port])[0]
    if host in ("127.0.0.1", "::1"):
        host = "localhost"
    return f"{host}:{port}"


def fit_message(server: str, limits: ServerLimits, pools: Mapping[str, int], how_to_raise: str) -> tuple[bool, str]:
    """Whether the pools' maxima fit the budget, and a sentence with the numbers and what to change."""
    wanted = sum(pools.values())
    instances = f"{len(pools)} instance{'s' if len(pools) != 1 else ''}"
    left = limits.ceiling - limits.others
    result = f"{left} for this supervisor" if left == limits.budget else (
        f"{left}, so this supervisor gets the least it can work with, {limits.budget}")
    arithmetic = (
        f"the server allows {limits.max_connections} (max_connections) - {limits.reserved} reserved"
        f" - {limits.others} used by other clients - {HEADROOM} kept free = {result}"
    )
    if wanted <= limits.budget:
        return True, f"{instances} on {server} may open up to {wanted} connections; {arithmetic}: fits"
    needed = limits.needed_for(wanted)
    return False, (
        f"{instances} on {server} may open up to {wanted} connections together (their pool_max_size "
        f"summed), but {arithmetic}. Nothing fails: a command waits for a free connection, and idle "
        "connections are closed at once while anyone waits. To avoid the waiting, raise max_connections to at "
        f"least {needed} ({how_to_raise}), or lower pool_max_size in the instances' config.toml [database] table"
    )


class BudgetedConnection(asyncpg.Connection):
    """A pool connection that knows its budget slot."""

    __slots__ = ("budget_slot",)


class _Slot:
    __slots__ = ("closing", "connection")

    def __init__(self, connection: BudgetedConnection):
        self.connection: BudgetedConnection | None = connection
        self.closing = False  # closed by us to make room


class ConnectionBudget:
    """The connections one process may hold on one server, shared by all its pools."""

    def __init__(self, limit: int, patience: float = PATIENCE):
        if limit < 1:
            raise ValueError("a connection budget needs at least one connection")
        self.limit = limit
        self.patience = patience
        self.open = 0  # slots taken: connections open or being opened
        self.peak = 0
        self.waits = 0  # how often a connection had to wait for a slot
        self.refusals = 0  # "too many clients" answers retried (other clients filled the server)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._idle: dict[_Slot, None] = {}  # idle pool connections, the longest idle first
        self._closing = 0

    # -- slots -----------------------------------------------------------------------------------------
    async def _take(self) -> None:
        if self.open < self.limit and not self._waiters:
            self.open += 1
            self.peak = max(self.peak, self.open)
            return
        self.waits += 1
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._reclaim()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._give_back()  # handed a slot just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    @property
    def waiting(self) -> int:
        """Connections waiting for a slot now."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    def raise_limit(self, limit: int) -> None:
        """Other clients have left the server since the budget was sized: take the room, and let in at once as
        many of those waiting as it allows. (Never lowered: the server's own limit is the last word.)"""
        if limit <= self.limit:
            return
        extra, self.limit = limit - self.limit, limit
        while extra > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.open += 1
                self.peak = max(self.peak, self.open)
                waiter.set_result(None)
                extra -= 1

    def _give_back(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next in line
                return
        self.open -= 1

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot around a connection made outside the pools (a migration's)."""
        await self._take()
        try:
            yield
        finally:
            self._give_back()

    def _reclaim(self) -> None:
        """Close idle connections, the longest idle first, for those waiting (less those already closing)."""
        wanted = len(self._waiters) - self._closing
        while wanted > 0 and self._idle:
            slot = next(iter(self._idle))
            del self._idle[slot]
            slot.closing = True
            self._closing += 1
            if slot.connection is not None:
                slot.connection.terminate()  # idle, so nothing is lost; its termination listener frees the slot
            wanted -= 1

    def _closed(self, slot: _Slot) -> None:
        self._idle.pop(slot, None)
        slot.connection = None  # the connection and its slot refer to each other: freed at once, not by a collection
        if slot.closing:
            self._closing -= 1
        self._give_back()

    # -- asyncpg pool hooks ----------------------------------------------------------------------------
    def pool_options(self) -> dict[str, Any]:
        """Keyword arguments for asyncpg.create_pool that put the pool on this budget."""
        return {
            "connect": self._connect,
            "setup": self._on_acquire,
            "reset": self._on_release,
            "connection_class": BudgetedConnection,
        }

    async def _connect(self, *args: Any, **kwargs: Any) -> BudgetedConnection:
        await self._take()
        try:
            connection = await self._connect_patiently(args, kwargs)
        except BaseException:
            self._give_back()
            raise
        slot = _Slot(connection)
        connection.budget_slot = slot
        connection.add_termination_listener(lambda _connection: self._closed(slot))
        return connection

    async def _connect_patiently(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BudgetedConnection:
        """Other clients may fill the server past what we planned for: wait for them rather than fail."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        delay = 0.05
        while True:
            try:
                return await asyncpg.connect(*args, **kwargs)
            except asyncpg.TooManyConnectionsError:
                self.refusals += 1
                if loop.time() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _on_acquire(self, connection: Any) -> None:
        self._idle.pop(connection.budget_slot, None)

    async def _on_release(self, connection: BudgetedConnection) -> None:
        # A custom reset replaces asyncpg's own, so run its reset query (RESET ALL, UNLISTEN *, unlock, ...).
        query = connection.get_reset_query()
        if query:
            await connection.execute(query)
        self._idle[connection.budget_slot] = None
        if self._waiters:
            asyncio.get_running_loop().call_soon(self._reclaim)
