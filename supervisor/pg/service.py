"""The daemon's databases: the bundled server for instances without a DATABASE_URL, and one connection budget
per server. One object per daemon; nothing here is module-level state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from supervisor.database import DatabaseError, connect, redact_url
from supervisor.hosts.leases import HostOptions, Leases
from supervisor.instances import InstanceSpec
from supervisor.logs import get_logger
from supervisor.migrator import LedgerReader, Migration
from supervisor.pg.budget import (
    PATIENCE,
    ConnectionBudget,
    ServerLimits,
    fit_message,
    lock_message,
    read_limits,
    server_key,
)
from supervisor.pg.bundled import BundledError, BundledPostgres
from supervisor.pg.probe import url_warnings

BUNDLED_RETRY_SECONDS = 30.0
RESIZE_SECONDS = 10.0  # a budget sized below the server's limit looks again this often while connections wait
SWITCH_HINT = (
    "to use a PostgreSQL server of your own, set DATABASE_URL in the supervisor's environment (every instance) "
    "or in an instance's .env"
)


class Databases:
    def __init__(self, state_dir: Path, hosts: HostOptions | None = None):
        self.bundled = BundledPostgres(state_dir)
        self.schemas_migrated = 0  # by this daemon's instances' starts (a cold start's progress)
        self.leases = Leases(hosts)  # one daemon per running instance, across hosts sharing a database
        self.log = get_logger("supervisor.databases")
        self._budgets: dict[str, ConnectionBudget] = {}
        self._limits: dict[str, ServerLimits] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._announced: set[str] = set()
        self._fit_said: dict[str, str] = {}
        self._locks_said: dict[str, str] = {}  # the lease locks warning, said again only when its numbers change
        self._bundled_failure: tuple[float, BundledError] | None = None
        self._bundled_announced = False
        self._ledgers: dict[str, LedgerReader] = {}  # by URL: a warm start's ledger checks, batched
        self._resizers: dict[str, asyncio.Task[None]] = {}  # by server: budgets sized while the server was full

    async def url_for(self, spec: InstanceSpec) -> str:
        """The instance's own or the supervisor's DATABASE_URL, else the bundled server (started on first use)."""
        if spec.database_url:
            self._announce_external(spec.database_url)
            return spec.database_url
        now = asyncio.get_running_loop().time()
        failure = self._bundled_failure
        if self.bundled.url is None and failure and now - failure[0] < BUNDLED_RETRY_SECONDS:
            raise failure[1]  # hundreds of instances need not each repeat a failing initdb
        try:
            url = await self.bundled.start()
        except BundledError as error:
            self._bundled_failure = (now, error)
            raise
        if not self._bundled_announced:
            self._bundled_announced = True
            self.log.info(
                "database_bundled", version=self.bundled.version, detail="Unix socket only, no TCP port",
                hint=SWITCH_HINT, data=str(self.bundled.data), socket_dir=str(self.bundled.socket_dir),
                started=self.bundled.started_here,
            )
        return url

    def _announce_external(self, url: str) -> None:
        if url in self._announced:
            return
        self._announced.add(url)
        self.log.info("database_external", url=redact_url(url))
        for warning in url_warnings(url):
            self.log.warning("database_url_warning", problem=warning, url=redact_url(url))

    async def budget_for(self, url: str) -> ConnectionBudget:
        """The budget of the server `url` reaches, sized from the server's limits when first asked.

        Raises DatabaseError when the server cannot be reached (the runner retries later)."""
        key = server_key(url)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            budget = self._budgets.get(key)
            if budget is None:
                connection = await connect(url, patience=PATIENCE)  # a server full of others' sessions: wait
                try:
                    limits = await read_limits(connection)
                except Exception as error:
                    raise DatabaseError(f"cannot read the connection limits of {redact_url(url)}: {error}") \
                        from error
                finally:
                    await connection.close()
                self._limits[key] = limits
                budget = self._budgets[key] = ConnectionBudget(limits.budget)
                self.log.info("connection_budget", server=key, budget=limits.budget,
                              max_connections=limits.max_connections, reserved=limits.reserved,
                              other_clients=limits.others)
                if limits.budget < limits.ceiling:
                    self._resizers[key] = asyncio.get_running_loop().create_task(
                        self._resize(url, key, budget), name=f"budget-resize:{key}")
            return budget

    async def _resize(self, url: str, key: str, budget: ConnectionBudget) -> None:
        """A budget sized while other clients filled the server (a budget of 1 made a cold start of thousands
        migrate one schema at a time, for as long as the daemon ran): while connections wait for a slot, read the
        server's use again every RESIZE_SECONDS and take the room others have left."""
        while True:
            await asyncio.sleep(RESIZE_SECONDS)
            if not budget.waiting:
                continue
            try:
                connection = await connect(url)
                try:
                    limits = await read_limits(connection)
                finally:
                    await connection.close()
            except Exception:  # the server is full or away: the budget stays as it is until the next look
                continue
            # Our own connections count among the "others" of a fresh read: they are ours to keep.
            room = max(1, limits.ceiling - (limits.others - budget.open))
            if room > budget.limit:
                self.log.info("connection_budget_raised", server=key, budget=room, was=budget.limit,
                              other_clients=limits.others - budget.open, waiting=budget.waiting)
                budget.raise_limit(room)
            if budget.limit >= limits.ceiling:
                return

    async def up_to_date(self, url: str, schema: str, migrations: list[Migration]) -> bool:
        """Whether `schema` needs no migration (read with many others' in one batch); False when unsure."""
        reader = self._ledgers.get(url)
        if reader is None:
            budget = await self.budget_for(url)
            reader = self._ledgers.setdefault(url, LedgerReader(url, budget.slot))
        return await reader.up_to_date(schema, migrations)

    async def review(self, specs: Iterable[InstanceSpec]) -> None:
        """Say, per server, whether the instances' pool maxima fit its limit, with the numbers and the remedy.
        Call after a scan; a server is only reported again when its numbers change."""
        pools: dict[str, dict[str, int]] = {}
        urls: dict[str, str] = {}
        for spec in specs:
            try:
                url = await self.url_for(spec)
            except DatabaseError:
                continue  # the instance's own start reports it
            key = server_key(url)
            urls.setdefault(key, url)
            pools.setdefault(key, {})[spec.name] = spec.config.pool_max_size
        for key, sizes in pools.items():
            try:
                await self.budget_for(urls[key])
            except DatabaseError:
                continue
            bundled = urls[key] == self.bundled.url
            how = ("ALTER SYSTEM SET max_connections = N through psql on the bundled server's socket, then "
                   "restart discord-supervisor") if bundled else \
                "ALTER SYSTEM SET max_connections = N as a superuser, then restart PostgreSQL"
            fits, message = fit_message(key, self._limits[key], sizes, how)
            if self._fit_said.get(key) != message:
                self._fit_said[key] = message
                if fits:
                    self.log.info("pools_fit_connection_budget", server=key, detail=message)
                else:
                    self.log.warning("pools_exceed_connection_budget", server=key, detail=message)
            locks_fit, locks = lock_message(key, self._limits[key], len(sizes),
                                            how.replace("max_connections", "max_locks_per_transaction"))
            if not locks_fit and self._locks_said.get(key) != locks:
                self._locks_said[key] = locks
                self.log.warning("leases_exceed_lock_table", server=key, detail=locks)

    async def close(self) -> None:
        """Drop the leases, and stop the bundled server if this daemon used it (after every pool is closed)."""
        for task in self._resizers.values():
            task.cancel()
        await asyncio.gather(*self._resizers.values(), return_exceptions=True)
        await self.leases.close()
        if self.bundled.url is None:
            return
        if await self.bundled.stop():
            self.log.info("bundled_postgres_stopped", data=str(self.bundled.data))
        else:
            self.log.info("bundled_postgres_left_running", data=str(self.bundled.data),
                          detail="another discord-supervisor process (a backup?) uses it and stops it when done")
