"""One daemon's lease session on one database: its advisory locks are the leases, its heartbeat confirms them,
and it keeps this daemon's rows in the fleet tables and reads the others' to place instances.

Fencing: a lease counts while a heartbeat sent less than FENCE_AFTER ago was confirmed. The connection and its
heartbeat live on the lease thread (supervisor/hosts/lease_thread.py), so a busy event loop does not delay them.
When that bound passes, or the session fails, the thread drops the session and closes the bots' gate at once;
then every bot holding a lease here is cut off (synchronously, in one callback of the bots' loop); the leases
are taken again on a new session.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import TYPE_CHECKING, Any

import asyncpg

from supervisor.database import DatabaseError, explain
from supervisor.hosts import timing
from supervisor.hosts.holder import LEASE_CLASS, Holder, LeaseInterrupted, LeaseUser, describe_holder, holder_name
from supervisor.hosts.lease_thread import LeaseConnection
from supervisor.hosts.placement import score
from supervisor.hosts.tables import CHANGED
from supervisor.hosts.view import FleetView, Me

if TYPE_CHECKING:
    from supervisor.hosts.leases import Leases

_TRY_MANY = ("SELECT s AS schema, pg_try_advisory_lock($1::int, hashtext(s)) AS taken "
             "FROM unnest($2::text[]) WITH ORDINALITY AS u(s, n) ORDER BY n")
_UNLOCK_MANY = "SELECT pg_advisory_unlock($1::int, hashtext(s)) FROM unnest($2::text[]) AS s"
_HOLDER = (
    "SELECT a.application_name, a.client_hostname, host(a.client_addr) AS addr FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
    "AND l.classid = $1::int::oid AND l.objid = hashtext($2)::oid AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
)
CONNECT_TIMEOUT = 10.0
_NOTIFY_MANY = "SELECT pg_notify($1, note) FROM unnest($2::text[]) AS note"
RELEASED = "discord_supervisor_released"  # payload: fleet schema, releasing daemon id, schema (tab-separated)
PEER_GRACE = 60.0  # seconds after a worker's start in which it leaves the others' instances to them (workers)
PEER_RETURN = 10.0  # seconds a dead worker's instances are left free for it to take back (workers: it restarts)
HANDOFF_TIMEOUT = 30.0  # a handoff the new owner has not taken up by then no longer blocks the next one
FORGET_EVERY = 30  # heartbeats between sweeps of long-gone daemons' rows
TAKE_BATCH = 500  # lease asks taken in one batch (a few queries over them all)
# A beat writes only the rows whose state changed and reads the others' rows only when the trigger says they
# changed: an idle fleet of 10,000 bots costs one heartbeat and one read of the small daemons table a second, not
# 10,000 rows each way. Heartbeats between full passes in case a change went unannounced: our rows compared in
# full (a state change not marked would be a bug), the instances table read in full where the server would not
# let us create the trigger.
FULL_SYNC_EVERY = 60
UNANNOUNCED_READ_EVERY = 15
_UNRECOGNIZED = "42704"  # an older server without one of the session settings


class Timed:
    """A connection whose every query carries asyncpg's own timeout, which runs on the lease thread: a busy bots'
    loop that reads the answer late does not make a query that was answered in time count as failed."""

    def __init__(self, connection: LeaseConnection, seconds: float):
        self._connection = connection
        self._seconds = seconds

    async def execute(self, query: str, *args: Any) -> str:
        return await self._connection.execute(query, *args, timeout=self._seconds)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self._connection.fetch(query, *args, timeout=self._seconds)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self._connection.fetchrow(query, *args, timeout=self._seconds)


class LeaseSession:
    def __init__(self, url: str, leases: Leases):
        self.url = url
        self.leases = leases
        self.tables = leases.tables
        self.log = leases.log
        self.connection: LeaseConnection | None = None
        self.held: dict[str, LeaseUser] = {}  # schema -> the runner holding its lease
        # Held leases taken over from a daemon that did not release them (it died or was cut off): handed on
        # first when this daemon is over its share, so its own bots are not the ones that move (a reconnect).
        self.adopted: set[str] = set()
        self.known: dict[str, LeaseUser] = {}  # schema -> this daemon's runner of it, held or not
        self.written: dict[str, tuple[str, str, float, bool]] = {}  # our rows in the table as last written
        # Schemas another daemon also has (so it may take them over): only these are cut off when the session
        # is lost. The others stay up through a database outage and are taken again on a new session.
        self.shared: set[str] = set()
        self._unshared: set[str] = set()  # no other daemon has these any more: not fenced once our row says so
        self.lock = asyncio.Lock()  # one request (of one or more queries) at a time on the session
        self.last_confirmed = -math.inf  # when the last confirmed heartbeat of a lost session was sent
        self._lone_timer: asyncio.TimerHandle | None = None
        self.tables_ok = False
        self.view = FleetView()
        self.handoff: tuple[str, str, float] | None = None  # (schema, to daemon id, loop time started)
        self._keeper: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._turns: dict[str, asyncio.Event] = {}  # schema -> set when another daemon releases it
        self._beats = 0
        self._dirty: set[str] = set()  # schemas whose row may differ from what was written (mark, forget)
        self._rewrite = True  # compare every row with what was written at the next sync (a new session)
        self._view_stale = True  # the instances table changed since our last read of it (the trigger's notice)
        self._announced = False  # the instances table has the trigger (else it is read every few beats)
        self._daemons_seen: frozenset[tuple[object, ...]] = frozenset()  # the daemons table at our last read
        self._down_logged = False
        self._asked: list[tuple[str, LeaseUser, asyncio.Future[tuple[Holder | None, bool]]]] = []  # the next batch
        self._taker: asyncio.Task[None] | None = None
        self._releasing: list[tuple[str, asyncio.Future[None]]] = []  # the next batch of releases
        self._releaser: asyncio.Task[None] | None = None

    # -- what the runners ask ----------------------------------------------------------------------
    def confirmed(self, schema: str, user: LeaseUser) -> bool:
        """The fencing gate: ours and, if another daemon could take it, confirmed within the bound."""
        if self.held.get(schema) is not user:
            return False
        if not self._fences(schema):
            return asyncio.get_running_loop().time() - self._last_confirmed() < timing.LONE_FENCE_AFTER
        connection = self.connection  # its confirmation time is written by the lease thread
        return (connection is not None
                and asyncio.get_running_loop().time() - connection.confirmed_at < timing.FENCE_AFTER)

    def _last_confirmed(self) -> float:
        """When the last confirmed heartbeat was sent, on this session or a lost one: the lone holder's bound."""
        connection = self.connection
        return max(self.last_confirmed, -math.inf if connection is None else connection.last_sent)

    def _fences(self, schema: str) -> bool:
        """Whether a lost session cuts this instance off: another daemon has it (or the tables cannot tell)."""
        return schema in self.shared or not self.tables_ok

    async def try_acquire(self, schema: str, user: LeaseUser) -> Holder | None:
        """None when the lease is ours (and its previous holder has stopped the bot), else where it runs.

        Asks made while a batch is on the session wait for the next batch, which takes them all in a few round
        trips: a start of thousands of instances does not queue one lease query after another."""
        self.known[schema] = user
        asked: asyncio.Future[tuple[Holder | None, bool]] = asyncio.get_running_loop().create_future()
        self._asked.append((schema, user, asked))
        if self._taker is None or self._taker.done():
            self._taker = asyncio.get_running_loop().create_task(self._take_asked(), name="lease-taker")
        refused, previous = await asked
        if refused is not None:
            return refused
        if previous:
            try:
                await self._wait_for_previous(schema, user)
            except BaseException:
                await asyncio.shield(self.release(schema))
                raise
        return None

    async def _take_asked(self) -> None:
        while self._asked:
            # At most TAKE_BATCH at a time: one batch of all 3,000 asks of a start may outlast the lease query's
            # bound (2 x QUERY_TIMEOUT) on a loaded server, and each failed try drops the session.
            batch, self._asked = self._asked[:TAKE_BATCH], self._asked[TAKE_BATCH:]
            async with self.lock:
                try:
                    outcomes = await self._take_batch([(schema, user) for schema, user, _ in batch])
                except Exception as error:
                    for _schema, _user, asked in batch:
                        if not asked.done():
                            asked.set_exception(error)
                    continue
            for (schema, user, asked), outcome in zip(batch, outcomes, strict=True):
                if not asked.done():
                    asked.set_result(outcome)
                elif outcome[0] is None and self.held.get(schema) is user:  # its runner gave up (a stop)
                    asyncio.get_running_loop().create_task(self.release(schema))

    async def _take_batch(self, batch: list[tuple[str, LeaseUser]]) -> list[tuple[Holder | None, bool]]:
        """(refusal or None, whether a previous holder may still run the bot) for each (schema, user)."""
        early: list[tuple[Holder | None, bool] | None] = []
        claimed: dict[str, LeaseUser] = {}
        for schema, user in batch:
            holder = self.held.get(schema) or claimed.get(schema)
            if holder is user:
                early.append((None, False))
            elif holder is not None:  # another runner of this daemon has it, or asked first in this batch
                me = self.leases.identity
                early.append((Holder(me.host, me.pid, instance=holder.instance_name), False))
            else:
                claimed[schema] = user
                early.append(None)
        taken: dict[str, tuple[Holder | None, bool]] = {}
        if claimed:
            connection = await self._ensure()
            try:
                taken = await self._take_leases(connection, claimed)
            except Exception as error:
                self.fence(f"lease query failed: {error!r}")
                raise DatabaseError(explain(error, self.url)) from error
        return [taken[schema] if outcome is None else outcome
                for (schema, _user), outcome in zip(batch, early, strict=True)]

    async def _take_leases(self, session: LeaseConnection,
                           claimed: dict[str, LeaseUser]) -> dict[str, tuple[Holder | None, bool]]:
        outcomes: dict[str, tuple[Holder | None, bool]] = {}
        connection = Timed(session, 2 * timing.QUERY_TIMEOUT)
        await self._sync_rows(connection, list(claimed))  # our rows are there before anyone places these
        free = []
        for schema, user in claimed.items():
            placed = self._placed_elsewhere(schema, user)
            if placed is not None:
                outcomes[schema] = (placed, False)
            else:
                free.append(schema)
        taken = [row["schema"] for row in await connection.fetch(_TRY_MANY, LEASE_CLASS, free) if row["taken"]]
        for schema in set(free) - set(taken):
            outcomes[schema] = (describe_holder(await connection.fetchrow(_HOLDER, LEASE_CLASS, schema)), False)
        if self.connection is None or self.connection is not session:
            raise ConnectionError("the lease session was replaced")
        for schema in taken:
            self.held[schema] = claimed[schema]
            self.view.note(schema, self.leases.identity.daemon_id, True)
        previous = set(taken)  # without the tables nobody can say: every one waits its bound
        if self.tables_ok and taken:
            await connection.execute(self.tables.hold_many, self.leases.identity.daemon_id, taken)
            rows = await connection.fetch(self.tables.previously_held, self.leases.identity.daemon_id, taken)
            previous = {row["schema_name"] for row in rows}
        self.adopted = (self.adopted - set(taken)) | previous
        outcomes |= {schema: (None, schema in previous) for schema in taken}
        return outcomes

    async def release(self, schema: str) -> None:
        """Let go of the lease (after the bot is closed). Releases asked for together go in one batch: a daemon
        stopping thousands of bots does not queue three queries per bot on the session."""
        released: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._releasing.append((schema, released))
        if self._releaser is None or self._releaser.done():
            self._releaser = asyncio.get_running_loop().create_task(self._release_asked(), name="lease-releaser")
        await released

    async def _release_asked(self) -> None:
        while self._releasing:
            batch, self._releasing = self._releasing, []
            try:
                async with self.lock:
                    await self._release_batch([schema for schema, _ in batch])
            finally:
                for _schema, released in batch:
                    if not released.done():
                        released.set_result(None)

    async def _release_batch(self, asked: list[str]) -> None:
        schemas = [schema for schema in dict.fromkeys(asked) if self.held.pop(schema, None) is not None]
        for schema in schemas:
            self.view.note(schema, self.leases.identity.daemon_id, False)
        connection = self.connection
        if not schemas or connection is None or connection.is_closed():
            return
        timed = Timed(connection, timing.QUERY_TIMEOUT)
        try:
            if self.tables_ok:  # first: a taker reading the row must not wait for us
                await timed.execute(self.tables.unhold_many, self.leases.identity.daemon_id, schemas)
            await timed.execute(_UNLOCK_MANY, LEASE_CLASS, schemas)
            if self.tables_ok:  # the daemon it is placed on takes it now, not at its next look
                await timed.execute(_NOTIFY_MANY, RELEASED, [self._release_note(s) for s in schemas])
        except Exception as error:  # dropping the session drops the lock: the others' leases go too
            self.fence(f"lease not released: {error!r}")

    def _release_note(self, schema: str) -> str:
        return "\t".join((self.tables.schema, self.leases.identity.daemon_id, schema))

    def _on_released(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        """Another daemon released a lease: if we have that instance, look at once whether it is ours now."""
        parts = payload.split("\t")
        if len(parts) != 3 or parts[0] != self.tables.schema or parts[2] not in self.known:
            return
        _fleet, daemon_id, schema = parts
        self.view.note(schema, daemon_id, False)
        turn = self._turns.get(schema)
        if turn is not None:
            turn.set()

    async def wait_turn(self, schema: str, seconds: float) -> None:
        """Sleep `seconds`, or less if another daemon releases this instance's lease meanwhile."""
        turn = self._turns.setdefault(schema, asyncio.Event())
        turn.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await turn.wait()

    def forget(self, schema: str, user: LeaseUser) -> None:
        if self.known.get(schema) is user:
            del self.known[schema]
            self._dirty.add(schema)
            self.poke()

    def mark(self, schema: str) -> None:
        """The instance's state changed: its row is written at the next heartbeat."""
        if schema in self.known:
            self._dirty.add(schema)

    def poke(self) -> None:
        self._wake.set()

    def moving(self) -> str | None:
        """The instance being handed over (until it runs on its new daemon)."""
        if self.handoff is None:
            return None
        user = self.known.get(self.handoff[0])
        return user.instance_name if user is not None else self.handoff[0]

    def nobody_else(self, schema: str) -> bool:
        return not self.view.others_can_take(schema, self._me())

    # -- fencing ---------------------------------------------------------------------------------------
    def fence(self, reason: str) -> None:
        """Cut off, now, every bot holding a lease here that another daemon could take over, and drop the
        session (its locks go with it); the others keep running and are taken again on a new session."""
        held = {schema: user for schema, user in self.held.items() if self._fences(schema)}
        for schema in held:
            del self.held[schema]
        connection, self.connection = self.connection, None
        if connection is not None:
            self.last_confirmed = max(self.last_confirmed, connection.last_sent)
        self.handoff = None
        self._rewrite_rows()
        for user in held.values():  # before anything else runs on the loop: no event of theirs is handled
            try:
                user.lease_lost()
            except Exception as error:
                self.log.error("lease_fence_failed", instance=user.instance_name, error=repr(error))
        if connection is not None:
            connection.terminate()  # on the lease thread, at once (it has already if it gave the session up)
        if held:
            self.log.warning("lease_fenced", reason=reason, instances=sorted(u.instance_name for u in held.values()))
        if self.held:
            self.log.warning("lease_session_lost", reason=reason,
                             kept=sorted(u.instance_name for u in self.held.values()))

    def _rewrite_rows(self) -> None:
        self.written.clear()
        self._rewrite = True

    def _on_lost(self, connection: LeaseConnection, reason: str) -> None:
        """From the lease thread: it gave this session up (a failed or late heartbeat) and dropped it. The gate
        refuses every send already; now cut the bots off."""
        if self.connection is connection:
            self._down_logged = True
            self.fence(reason)
            self.poke()  # a new session at once, not at the next look

    def _arm_lone(self) -> None:
        """The lone holder's bound: a timer at the last confirmation + LONE_FENCE_AFTER (kept current by _keep)."""
        due = self._last_confirmed() + timing.LONE_FENCE_AFTER
        if due == math.inf or due == -math.inf:
            return
        if self._lone_timer is not None:
            if self._lone_timer.when() == due:
                return
            self._lone_timer.cancel()
        self._lone_timer = asyncio.get_running_loop().call_at(due, self._lone_fence_due)

    def _lone_fence_due(self) -> None:
        """The outage has lasted as long as a lone holder may keep its bots: a newcomer may take them soon."""
        self._lone_timer = None
        if asyncio.get_running_loop().time() - self._last_confirmed() < timing.LONE_FENCE_AFTER:
            self._arm_lone()  # confirmed again meanwhile: the bound moved on
            return
        if not self.held:
            return
        held, self.held = self.held, {}
        for user in held.values():
            try:
                user.lease_lost()
            except Exception as error:
                self.log.error("lease_fence_failed", instance=user.instance_name, error=repr(error))
        self.log.warning("lease_lone_fenced", seconds=timing.LONE_FENCE_AFTER,
                         instances=sorted(u.instance_name for u in held.values()))

    # -- the session -----------------------------------------------------------------------------------
    async def _ensure(self) -> LeaseConnection:
        """The live session, opened and registered if needed (under self.lock). Raises DatabaseError."""
        if self.connection is not None and self.connection.usable:
            return self.connection
        if self.connection is not None:
            self.fence(self.connection.lost or "lease session closed")
        loop = asyncio.get_running_loop()
        connection = await self._connect()
        sent = loop.time()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self._register(connection)
        except Exception as error:
            connection.terminate()
            raise DatabaseError(explain(error, self.url)) from error
        self.connection = connection
        connection.confirmed_at = connection.last_sent = sent  # the thread's first beat comes a second later
        connection.beat(self._heartbeat_query, sent, self._on_lost)
        self._arm_lone()
        if self._keeper is None or self._keeper.done():
            self._keeper = loop.create_task(self._keep(), name="lease-keeper")
        if self._down_logged:
            self.log.info("lease_session_back")
            self._down_logged = False
        return connection

    def _heartbeat_query(self) -> tuple[str, tuple[Any, ...]]:
        """The heartbeat's SQL and arguments: read by the lease thread at each beat."""
        if not self.tables_ok:
            return "SELECT 1", ()
        return self.tables.heartbeat, (self.leases.identity.daemon_id, self.leases.options.capacity,
                                       self.leases.draining)

    async def _connect(self) -> LeaseConnection:
        settings = {"application_name": holder_name(), **timing.TCP_KEEPALIVES,
                    "idle_session_timeout": str(timing.IDLE_SESSION_TIMEOUT_MS),
                    "tcp_user_timeout": str(timing.TCP_USER_TIMEOUT_MS)}
        thread = self.leases.thread()
        try:
            try:
                return await LeaseConnection.open(thread, self.url, CONNECT_TIMEOUT, settings)
            except asyncpg.PostgresError as error:
                if error.sqlstate != _UNRECOGNIZED:
                    raise
                self.log.warning("lease_session_settings_refused", error=str(error))
                basic = {"application_name": holder_name(), **timing.TCP_KEEPALIVES}
                return await LeaseConnection.open(thread, self.url, CONNECT_TIMEOUT, basic)
        except Exception as error:
            raise DatabaseError(explain(error, self.url)) from error

    async def _register(self, connection: LeaseConnection) -> None:
        me = self.leases.identity
        try:
            await connection.in_transaction(list(self.tables.setup()))
            self.tables_ok = True
        except asyncpg.PostgresError as error:  # no right to create them: every daemon takes what is free
            if self.tables_ok or not self._down_logged:
                self.log.warning("fleet_tables_unavailable", schema=self.tables.schema, error=str(error))
            self.tables_ok = False
            return
        await connection.add_listener(RELEASED, self._on_released)
        await connection.add_listener(CHANGED, self._on_changed)
        self._announced = bool(await connection.fetchval(self.tables.announced))
        self._view_stale = True
        for _ in range(20):  # an old session of ours that we just dropped may hold it for a moment
            if await connection.fetchval(self.tables.liveness_lock, me.daemon_id):
                break
            await asyncio.sleep(0.25)
        await connection.execute(self.tables.register, me.daemon_id, me.node, me.host, me.pid, me.started,
                                 self.leases.options.capacity, self.leases.draining, self.leases.options.standby)
        # What we fenced is not held any more; what we kept through the outage we take again (or stop, if
        # another daemon took it meanwhile).
        await connection.execute(self.tables.forget_holds, me.daemon_id, list(self.held))
        # In one query, not two round trips per lease: a session dropped while it kept 1,500 leases re-took them
        # one by one within CONNECT_TIMEOUT, which a loaded server made it outlast.
        kept = list(self.held.items())
        rows = await connection.fetch(_TRY_MANY, LEASE_CLASS, [schema for schema, _ in kept]) if kept else []
        taken = {row["schema"] for row in rows if row["taken"]}
        if taken:
            await connection.execute(self.tables.hold_many, me.daemon_id, sorted(taken))
        lost = [(schema, user) for schema, user in kept if schema not in taken]
        if lost:
            await connection.execute(self.tables.unhold_many, me.daemon_id, [schema for schema, _ in lost])
        for schema, user in lost:
            if self.held.get(schema) is user:
                del self.held[schema]
            self.log.warning("lease_taken_while_lost", instance=user.instance_name)
            user.lease_lost()
        self._rewrite_rows()
        await self._sync_rows(connection)
        await self._read_view(connection)

    async def _keep(self) -> None:
        """This daemon's rows, the others' rows, one handoff at a time, and a new session when one was lost (the
        heartbeat itself runs on the lease thread); never ends by error."""
        while not self.leases.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timing.HEARTBEAT):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._beat()
                self._rebalance()
            except Exception as error:
                self.log.error("lease_keeper_failed", error=repr(error), exc_info=error)

    async def _beat(self) -> None:
        async with self.lock:
            self._arm_lone()
            connection = self.connection
            if connection is None or not connection.usable:
                if connection is not None:
                    self._down_logged = True
                    self.fence(connection.lost or "lease session closed")
                if self.known:
                    await self._reopen()
                return
            if self.tables_ok and connection.outcome:
                outcome, connection.outcome = connection.outcome, ""  # each heartbeat's answer looked at once
                await self._bookkeep(connection, outcome)

    async def _reopen(self) -> None:
        try:
            await self._ensure()
        except DatabaseError as error:
            if not self._down_logged:
                self.log.warning("lease_session_unavailable", error=str(error))
                self._down_logged = True

    async def _bookkeep(self, connection: LeaseConnection, outcome: str) -> None:
        """Rows and view; a failure here is logged, and the next heartbeat decides about the session."""
        me = self.leases.identity
        # asyncpg's own timeouts (not a cancellation from outside): a slow query is cancelled on the server and
        # the session stays usable for the next heartbeat.
        timed = Timed(connection, 2 * timing.QUERY_TIMEOUT)
        try:
            if outcome == "UPDATE 0":  # our row was swept (a long stall): register again on this session
                await timed.execute(self.tables.register, me.daemon_id, me.node, me.host, me.pid,
                                    me.started, self.leases.options.capacity, self.leases.draining,
                                    self.leases.options.standby)
                self._rewrite_rows()
            await self._sync_rows(timed)
            await self._read_view(timed)
            await self._sync_marked(timed)  # at once: whether we fence what another daemon now has
            self._beats += 1
            if self._beats % FORGET_EVERY == 0:
                await timed.execute(self.tables.forget_gone, timing.DAEMON_FORGET_AFTER)
        except Exception as error:
            self.log.warning("fleet_tables_not_updated", error=repr(error))

    async def _sync_rows(self, connection: LeaseConnection | Timed, only: list[str] | None = None) -> None:
        """Write this daemon's rows that changed: those marked since the last sync, every one on a full pass,
        or `only` those schemas' (a lease being taken)."""
        if not self.tables_ok:
            return
        if only is None and not self._rewrite and self._beats % FULL_SYNC_EVERY != 0:
            await self._sync_marked(connection)
            return
        marked = set(self._dirty) if only is None else set()
        names = self.known if only is None else [schema for schema in only if schema in self.known]
        rows = {schema: self._row(schema) for schema in names}
        if only is not None:
            await self._write_rows(connection, rows, [])
            self.written.update(rows)
            return
        await self._write_rows(connection, rows, [schema for schema in self.written if schema not in rows])
        self.written = rows
        self._rewrite = False
        self._marks_written(marked)  # those marked since the rows were read: written at the next beat

    async def _sync_marked(self, connection: LeaseConnection | Timed) -> None:
        """Write the rows of the instances marked since the last sync (and of those whose fencing flag flips)."""
        marked = self._dirty | self._unshared
        if not marked:
            return
        rows = {schema: self._row(schema) for schema in marked if schema in self.known}
        gone = [schema for schema in marked if schema not in self.known and schema in self.written]
        await self._write_rows(connection, rows, gone)
        for schema in gone:
            del self.written[schema]
        self.written.update(rows)
        self._marks_written(marked)

    def _marks_written(self, marked: set[str]) -> None:
        """The rows of `marked` and the fencing flags that flipped are in the table now."""
        self._dirty -= marked
        self.shared -= self._unshared
        self._unshared = set()

    async def _write_rows(self, connection: LeaseConnection | Timed,
                          rows: dict[str, tuple[str, str, float, bool]], gone: list[str]) -> None:
        """Write those of `rows` that differ from what was written, and delete the rows of `gone`."""
        me = self.leases.identity.daemon_id
        changed = [(schema, row) for schema, row in rows.items() if self.written.get(schema) != row]
        if changed:
            await connection.execute(self.tables.put_instances, me, [s for s, _ in changed],
                                     [r[0] for _, r in changed], [r[1] for _, r in changed],
                                     [r[2] for _, r in changed], [r[3] for _, r in changed])
        if gone:
            await connection.execute(self.tables.drop_instances, me, gone)

    def _row(self, schema: str) -> tuple[str, str, float, bool]:
        user = self.known[schema]
        return (user.instance_name, *user.fleet_state(), schema in self.shared and schema not in self._unshared)

    async def _read_view(self, connection: LeaseConnection | Timed) -> None:
        """The daemons table at every beat (a few rows); the instances table only when it changed (the trigger's
        notice, a daemon came, went or changed its options), or every few seconds where there is no trigger."""
        daemons = await connection.fetch(self.tables.daemons)
        seen = frozenset((row["id"], row["live"], row["node"], row["capacity"], row["draining"], row["standby"])
                         for row in daemons)
        if seen == self._daemons_seen and not self._view_stale and (
                self._announced or self._beats % UNANNOUNCED_READ_EVERY != 0):
            return
        self._view_stale = False  # first: a notice that comes during the read is for a change it may not show
        offers = await connection.fetch(self.tables.offers)
        self._daemons_seen = seen
        self.view = FleetView.read(self._me(), daemons, offers, self.view, asyncio.get_running_loop().time())
        shared = {schema for schema in self.known if self.view.others_have(schema, self.leases.identity.daemon_id)}
        # A schema joins `shared` at once; it leaves only once our row says we no longer fence it (_sync_rows),
        # so a taker that reads "fences" from our row can always rely on it.
        self._dirty |= shared - self.shared
        self._unshared = self.shared - shared
        self.shared |= shared

    def _on_changed(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        """Some daemon (this one included) wrote the instances table: read it again at the next beat."""
        if payload == self.tables.schema:
            self._view_stale = True

    # -- placement -------------------------------------------------------------------------------------
    def _me(self) -> Me:
        options = self.leases.options
        return Me(self.leases.identity, options.capacity, self.leases.draining, options.standby)

    def _placed_elsewhere(self, schema: str, user: LeaseUser) -> Holder | None:
        peer = self._peer_placed(schema)  # needs no table: the rendezvous hash of the workers' names
        if peer is not None:
            return Holder(address=f"{peer} (a worker still starting)")
        if not self.tables_ok:
            return None
        peer = self._peer_returning(schema)
        if peer is not None:
            return Holder(address=f"{peer} (a worker restarting)")
        me = self._me()
        holders = self.view.holders(schema, me)
        if holders:
            return Holder(holders[0].host, holders[0].pid)
        placed = self.view.may_take(schema, me, asyncio.get_running_loop().time())
        return None if placed is None else Holder(placed.host, placed.pid, placed=True)

    def _peer_placed(self, schema: str) -> str | None:
        """`run --workers N`, for PEER_GRACE after this worker's start: the worker the rendezvous hash places this
        instance on when it is not this one and has not shown up with it yet. So the first worker up does not
        start every instance and then hand half of them over one at a time."""
        options = self.leases.options
        if not options.peers or time.time() - self.leases.identity.started > PEER_GRACE:
            return None
        chosen = max(options.peers, key=lambda node: (score(schema, node, options.capacity), node))
        present = {self.view.daemons[d].node for d in self.view.rows.get(schema, {}) if d in self.view.daemons}
        if chosen == self.leases.identity.node or chosen in present:
            return None  # ours, or that worker is up and has it: the usual rules (caps, handoffs) decide
        return chosen

    def _peer_returning(self, schema: str) -> str | None:
        """`run --workers N`: the worker whose lease this was died (kill -9, a crash) and the parent is starting it
        again. For PEER_RETURN after the instance was first seen free, it is left to that worker, which takes its
        own instances back (each waits out the dead worker's fencing bound either way). Taken by another worker
        meanwhile, each would be handed back one at a time later: a second reconnect, and a chain of handoffs.
        After PEER_RETURN (the worker keeps dying, or is slow), the usual rules take it over."""
        node = self.view.lost.get(schema)
        if not self.leases.options.peers or node is None or node == self.leases.identity.node:
            return None
        if node not in self.leases.options.peers or any(c.node == node for c in self.view.daemons.values()):
            return None  # not a worker of ours, or it is back: the usual rules (it takes them, caps, handoffs)
        free_since = self.view.free_since.get(schema)
        if free_since is None or asyncio.get_running_loop().time() - free_since >= PEER_RETURN:
            return None
        return node

    def _rebalance(self) -> None:
        """Over its share: hand one instance at a time to the daemon it belongs on; the next once that one runs
        it (or after HANDOFF_TIMEOUT)."""
        if not self.tables_ok or self.connection is None:
            return
        now = asyncio.get_running_loop().time()
        if self.handoff is not None:
            moving, target_id, started = self.handoff
            if moving in self.held or not self.view.runs_on(moving, target_id):
                if now - started < HANDOFF_TIMEOUT:
                    return
                self.log.warning("handoff_not_taken_up", schema=moving)
            self.handoff = None
        if not self.view.over(self._me()):
            return
        settled = [schema for schema, user in self.held.items()
                   if user.fleet_state()[0] not in ("starting", "reloading")]
        # What this daemon took over from a lost one goes first (the dead worker restarted, a host back): the
        # bots that ran here all along stay up. One that is still starting is waited for, not replaced by them.
        self.adopted &= self.held.keys()
        choice = self.view.handoff([schema for schema in settled if schema in self.adopted], self._me())
        if choice is None and self.adopted - set(settled):
            return
        if choice is None:
            choice = self.view.handoff(settled, self._me())
        if choice is None:
            return
        schema, target = choice
        user = self.held[schema]
        self.handoff = (schema, target.daemon_id, now)
        self.log.info("instance_handed_off", instance=user.instance_name, to_host=target.host, to_pid=target.pid)
        user.hand_off()

    async def _wait_for_previous(self, schema: str, user: LeaseUser) -> None:
        """Until the daemon that held this lease before us has certainly stopped the bot (fenced in time)."""
        announced = False
        while True:
            async with self.lock:
                connection = self.connection
                if connection is None or self.held.get(schema) is not user:
                    raise LeaseInterrupted("the lease was lost while waiting for its previous holder to stop")
                if not self.tables_ok:
                    rows: list[Any] = []
                    wait = timing.TAKE_AFTER if not announced else 0.0
                else:
                    rows = await connection.fetch(self.tables.previous_holders, self.leases.identity.daemon_id,
                                                  schema, timeout=2 * timing.QUERY_TIMEOUT)
                    wait = max((self._still_to_wait(row) for row in rows), default=0.0)
                if wait <= 0:
                    if rows:
                        await connection.execute(self.tables.clear_previous, self.leases.identity.daemon_id,
                                                 schema, timeout=2 * timing.QUERY_TIMEOUT)
                    return
            if not announced:
                holder = next((f"host {r['host']}, pid {r['pid']}" for r in rows), "an unknown daemon")
                self.log.info("lease_waiting_for_previous_holder", instance=user.instance_name, holder=holder,
                              seconds=round(wait, 1))
                announced = True
            await asyncio.sleep(min(wait, timing.HEARTBEAT) + 0.05)

    def _still_to_wait(self, row: asyncpg.Record) -> float:
        """How much longer a previous holder may still run the bot (see timing.py)."""
        if row["fences"]:  # it cuts its bots off in time, and reconnects only after that
            return timing.TAKE_AFTER - row["age"] if row["same_session"] else 0.0
        if row["node"] == self.leases.identity.node:  # an earlier process of this daemon: gone
            return timing.TAKE_AFTER - row["age"]
        return timing.LONE_TAKE_AFTER - row["age"]  # it knew of no other daemon: it kept the bot up

    # -- the fleet view and the end ----------------------------------------------------------------------
    async def fleet_rows(self) -> list[dict[str, object]]:
        async with self.lock:
            if not self.tables_ok or self.connection is None or self.connection.is_closed():
                return []
            rows = await self.connection.fetch(self.tables.fleet, timeout=2 * timing.QUERY_TIMEOUT)
        me = self.leases.identity
        return [dict(row) | {"this_daemon": row["pid"] == me.pid and row["host"] == me.host} for row in rows]

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        if self._lone_timer is not None:
            self._lone_timer.cancel()
        connection, self.connection = self.connection, None
        if connection is None or connection.is_closed():
            return
        try:
            async with asyncio.timeout(timing.QUERY_TIMEOUT):
                if self.tables_ok:  # a clean stop: nobody waits for our bots, which are all closed by now
                    await connection.execute(self.tables.unregister, self.leases.identity.daemon_id)
                await connection.close(timing.QUERY_TIMEOUT)
        except Exception:
            connection.terminate()
