"""The fleet's two small tables in each database: who is up (daemons) and which instances each one has.

Every statement here runs on a daemon's lease session, the one whose advisory locks are its leases.
"""

from __future__ import annotations

from dataclasses import dataclass

from supervisor.database import quote_ident

DEFAULT_FLEET_SCHEMA = "discord_supervisor"


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

CHANGED = "discord_supervisor_changed"  # payload: the fleet schema whose instances table a statement wrote
DAEMON_CLASS = 0x44534450  # "DSDP": the first key of a daemon's liveness lock; the second is hashtext(id)
_SETUP_LOCK = 0x44535350  # serialises the first CREATE of the tables by daemons starting at once

# A daemon is up while its lease session holds its liveness lock: that ends with the session, at once for a
# kill -9 and within the idle/keepalive timeouts for a frozen, partitioned or powered-off host.
_LIVE = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
    f"AND l.classid = {DAEMON_CLASS}::oid AND l.objid = hashtext(d.id)::oid AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()))"
)


@dataclass(frozen=True)
class FleetTables:
    schema: str = DEFAULT_FLEET_SCHEMA

    @property
    def _s(self) -> str:
        return quote_ident(self.schema)

    def setup(self) -> list[str]:
        s = self._s
        return [
            f"SELECT pg_advisory_xact_lock({_SETUP_LOCK})",
            f"CREATE SCHEMA IF NOT EXISTS {s}",
            f"CREATE TABLE IF NOT EXISTS {s}.daemons (id text PRIMARY KEY, node text NOT NULL, host text NOT NULL, "
            "pid integer NOT NULL, started timestamptz NOT NULL, heartbeat timestamptz NOT NULL, "
            "capacity real NOT NULL, draining boolean NOT NULL, standby boolean NOT NULL, session integer NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {s}.instances (daemon text NOT NULL REFERENCES {s}.daemons (id) "
            "ON DELETE CASCADE, schema_name text NOT NULL, name text NOT NULL, state text NOT NULL, "
            "since timestamptz NOT NULL, held_session integer, PRIMARY KEY (daemon, schema_name))",
            # Whether its holder cuts the bot off when its lease session is lost (it knows another daemon has it)
            # (checked first: ALTER TABLE would lock the table against every other daemon's heartbeat)
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
            f"{quote_literal(self.schema)} AND table_name = 'instances' AND column_name = 'fences') THEN "
            f"ALTER TABLE {s}.instances ADD COLUMN fences boolean NOT NULL DEFAULT false; END IF; END $$",
            # Every statement that writes the instances table tells the daemons listening (at commit), so an
            # idle daemon need not read the whole table each heartbeat. Without the right to create it, the
            # daemons read the table every few beats instead (session.py UNANNOUNCED_READ_EVERY).
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            f"WHERE c.oid = to_regclass({quote_literal(s + '.instances')}) AND t.tgname = 'instances_changed') THEN "
            f"CREATE OR REPLACE FUNCTION {s}.instances_changed() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
            f"PERFORM pg_notify({quote_literal(CHANGED)}, {quote_literal(self.schema)}); RETURN NULL; END $f$; "
            f"CREATE TRIGGER instances_changed AFTER INSERT OR UPDATE OR DELETE ON {s}.instances "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {s}.instances_changed(); END IF; "
            "EXCEPTION WHEN insufficient_privilege THEN NULL; END $$",
        ]

    @property
    def announced(self) -> str:
        """Whether the instances table has the trigger that NOTIFYs its changes."""
        return (f"SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = "
                f"to_regclass({quote_literal(self._s + '.instances')}) AND tgname = 'instances_changed')")

    # -- this daemon ---------------------------------------------------------------------------------
    @property
    def liveness_lock(self) -> str:
        return f"SELECT pg_try_advisory_lock({DAEMON_CLASS}, hashtext($1))"

    @property
    def register(self) -> str:
        """$1 id, $2 node, $3 host, $4 pid, $5 started (epoch), $6 capacity, $7 draining, $8 standby."""
        return (
            f"INSERT INTO {self._s}.daemons AS d VALUES ($1, $2, $3, $4, to_timestamp($5), now(), $6, $7, $8, "
            "pg_backend_pid()) ON CONFLICT (id) DO UPDATE SET heartbeat = now(), session = pg_backend_pid(), "
            "capacity = $6, draining = $7, standby = $8"
        )

    @property
    def forget_holds(self) -> str:
        """A new session of this daemon: it holds nothing but $2, the leases it kept (to take again)."""
        return (
            f"UPDATE {self._s}.instances SET held_session = NULL WHERE daemon = $1 AND held_session IS NOT NULL "
            "AND NOT schema_name = ANY($2::text[])"
        )

    @property
    def heartbeat(self) -> str:
        """$1 id, $2 capacity, $3 draining: confirms the session; 0 rows means our row was deleted."""
        return (
            f"UPDATE {self._s}.daemons SET heartbeat = now(), capacity = $2, draining = $3 "
            "WHERE id = $1 AND session = pg_backend_pid()"
        )

    @property
    def put_instances(self) -> str:
        """$1 id, $2 schemas, $3 names, $4 states, $5 since (epochs), $6 fences."""
        return (
            f"INSERT INTO {self._s}.instances (daemon, schema_name, name, state, since, fences) "
            "SELECT $1, s, n, st, to_timestamp(t), f FROM unnest($2::text[], $3::text[], $4::text[], "
            "$5::float8[], $6::boolean[]) AS u(s, n, st, t, f) ON CONFLICT (daemon, schema_name) DO UPDATE SET "
            "name = excluded.name, state = excluded.state, since = excluded.since, fences = excluded.fences"
        )

    @property
    def drop_instances(self) -> str:
        return f"DELETE FROM {self._s}.instances WHERE daemon = $1 AND schema_name = ANY($2::text[])"

    @property
    def hold_many(self) -> str:
        return (
            f"UPDATE {self._s}.instances SET held_session = pg_backend_pid() WHERE daemon = $1 "
            "AND schema_name = ANY($2::text[])"
        )

    @property
    def unhold_many(self) -> str:
        return (
            f"UPDATE {self._s}.instances SET held_session = NULL WHERE daemon = $1 AND schema_name = ANY($2::text[])"
        )

    @property
    def unregister(self) -> str:
        return f"DELETE FROM {self._s}.daemons WHERE id = $1"

    # -- the others ------------------------------------------------------------------------------------
    @property
    def daemons(self) -> str:
        return (
            f"SELECT d.id, d.node, d.host, d.pid, d.capacity, d.draining, d.standby, d.session, d.started, "
            f"extract(epoch FROM now() - d.heartbeat)::float8 AS age, {_LIVE} AS live FROM {self._s}.daemons d"
        )

    @property
    def offers(self) -> str:
        """Which daemons have which schemas, in what state, and whether they hold its lease."""
        return f"SELECT daemon, schema_name, state, held_session IS NOT NULL AS held FROM {self._s}.instances"

    @property
    def previous_holders(self) -> str:
        """Other daemons that said they held $2 and may still run its bot: their heartbeat's age by the server's
        clock, and whether the session that held it is still theirs (if not, they fenced and reconnected)."""
        return (
            f"SELECT d.id, d.node, d.host, d.pid, extract(epoch FROM now() - d.heartbeat)::float8 AS age, i.fences, "
            f"i.held_session = d.session AS same_session FROM {self._s}.instances i JOIN {self._s}.daemons d "
            "ON d.id = i.daemon WHERE i.schema_name = $2 AND i.daemon <> $1 AND i.held_session IS NOT NULL"
        )

    @property
    def previously_held(self) -> str:
        """Which of the schemas $2 another daemon said it held (those whose start waits: previous_holders)."""
        return (
            f"SELECT DISTINCT schema_name FROM {self._s}.instances WHERE schema_name = ANY($2::text[]) "
            "AND daemon <> $1 AND held_session IS NOT NULL"
        )

    @property
    def clear_previous(self) -> str:
        return (
            f"UPDATE {self._s}.instances SET held_session = NULL WHERE schema_name = $2 AND daemon <> $1 "
            "AND held_session IS NOT NULL"
        )

    @property
    def forget_gone(self) -> str:
        """Daemons gone for a while: their rows go (their instances' rows with them)."""
        return (
            f"DELETE FROM {self._s}.daemons d WHERE d.heartbeat < now() - make_interval(secs => $1) "
            f"AND NOT {_LIVE}"
        )

    @property
    def fleet(self) -> str:
        return (
            f"SELECT d.host, d.pid, d.node, d.draining, d.standby, {_LIVE} AS live, "
            "extract(epoch FROM now() - d.heartbeat)::float8 AS age, i.name, i.schema_name, i.state, "
            f"extract(epoch FROM i.since)::float8 AS since, i.held_session IS NOT NULL AS held, i.fences "
            f"FROM {self._s}.daemons d LEFT JOIN {self._s}.instances i ON i.daemon = d.id "
            "ORDER BY i.name, d.host, d.pid"
        )
