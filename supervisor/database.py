"""One asyncpg pool per instance, pinned to the instance's own schema."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

import asyncpg

from supervisor.dburl import redact_url
from supervisor.pg.deadline import create_deadline_pool

if TYPE_CHECKING:
    from supervisor.pg.budget import ConnectionBudget

IDLE_CONNECTION_SECONDS = 30.0  # give idle connections back: many small pools share one server
DEFAULT_COMMAND_TIMEOUT = 10.0  # seconds a query may take ([database] command_timeout)


class DatabaseError(Exception):
    """A database problem explained for the user; the message never contains a password."""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def explain(error: BaseException, url: str | None) -> str:
    """Turn a connection or privilege failure into a sentence a user can act on."""
    where = redact_url(url)
    if isinstance(error, asyncpg.InvalidPasswordError):
        return f"Postgres refused the password for {where}"
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return f"Postgres refused the login for {where}: {error}"
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return f"the database in {where} does not exist: {error}"
    if isinstance(error, asyncpg.InsufficientPrivilegeError):
        return f"the database role in {where} lacks a privilege: {error} (it needs CREATE on the database)"
    if isinstance(error, asyncpg.TooManyConnectionsError):
        return f"Postgres at {where} has no connection slots left: {error}"
    if isinstance(error, asyncpg.OutOfMemoryError) and "shared memory" in str(error):
        return (f"Postgres at {where} has no room left in its lock table ({error}): every running instance "
                "holds one lock for its lease; raise max_locks_per_transaction on the server "
                "(docs/database.md, thousands of instances)")
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host of {where}: {error.strerror or error}"
    if isinstance(error, OSError):  # refused, reset, timed out (TimeoutError is an OSError)
        return f"cannot reach Postgres at {where}: {error.strerror or error or type(error).__name__}"
    if isinstance(error, asyncpg.PostgresError):
        return f"Postgres error at {where}: {error}"
    return f"{type(error).__name__} talking to {where}: {error}"


def is_database_unavailable(error: BaseException) -> bool:
    """The database cannot answer now (down, restarting, overloaded, connection lost): worth a retry, not a crash.

    A host name that does not resolve is a configuration mistake, not an outage.
    """
    if isinstance(error, socket.gaierror):
        return False
    # InternalClientError: a pooled connection the server broke while it sat idle (the FATAL a shutting-down
    # server sends) fails its next query with it ("cannot switch to state ...") until asyncpg sees the close.
    # InsufficientResourcesError: too many connections, a full lock table, a full disk: it may pass, retry.
    return isinstance(
        error,
        DatabaseError | OSError | asyncpg.InterfaceError | asyncpg.PostgresConnectionError
        | asyncpg.OperatorInterventionError | asyncpg.InsufficientResourcesError | asyncpg.InternalClientError,
    )


def describe_database_error(error: BaseException) -> str:
    """A one-line reason for an outage, for logs: the error's type and text, never a URL or password."""
    if isinstance(error, TimeoutError):
        return "no answer within the command time limit ([database] command_timeout)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def schema_settings(schema: str) -> dict[str, str]:
    # Quoted, or a mixed-case name connects fine but current_schema() is NULL; never SET in init (RESET ALL).
    # application_name lets an operator (and pg_stat_activity) tell which schema's pool a connection belongs to.
    return {"search_path": quote_ident(schema), "application_name": f"discord-supervisor:{schema}"[:63]}


async def connect(url: str | None, schema: str | None = None, timeout: float = 10.0,
                  application_name: str | None = None, patience: float = 0.0) -> asyncpg.Connection:
    """A single connection (migrations, checks); wraps failures in DatabaseError. With `patience`, a server full
    of other clients' sessions ("too many clients") is asked again for up to that many seconds."""
    kwargs: dict[str, Any] = {"timeout": timeout}
    if schema:
        kwargs["server_settings"] = schema_settings(schema)
    if application_name:
        kwargs["server_settings"] = {**kwargs.get("server_settings", {}), "application_name": application_name}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    delay = 0.05
    while True:
        try:
            return await asyncpg.connect(url, **kwargs)
        except asyncpg.TooManyConnectionsError as error:
            if loop.time() + delay > deadline:
                raise DatabaseError(explain(error, url)) from error
        except Exception as error:
            raise DatabaseError(explain(error, url)) from error
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def fetch_value(url: str | None, query: str, *args: Any) -> Any:
    """One value from one query on a short-lived connection (checks and reports, not the bots' work)."""
    connection = await connect(url)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def ensure_schema(connection: asyncpg.Connection, schema: str, url: str | None) -> None:
    try:
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    except asyncpg.UniqueViolationError:
        pass  # another session created it at the same moment (IF NOT EXISTS does not cover that race)
    except Exception as error:
        raise DatabaseError(explain(error, url)) from error


async def open_pool(
    url: str | None, schema: str, max_size: int, budget: ConnectionBudget | None = None,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
) -> asyncpg.Pool:
    """A small pool whose every connection sees only `schema` by unqualified name.

    With a budget (the daemon's, one per server), its connections count against what the server allows: a
    burst waits for a free connection instead of failing with "too many clients". Every query and every new
    connection gets at most `command_timeout` seconds: a frozen server gives TimeoutError ("unavailable").
    """
    try:
        pool = await create_deadline_pool(  # a command's wait for a connection and its query: one deadline
            url,
            min_size=0,
            max_size=max_size,
            max_inactive_connection_lifetime=IDLE_CONNECTION_SECONDS,
            server_settings=schema_settings(schema),
            command_timeout=command_timeout,
            **(budget.pool_options() if budget is not None else {}),
        )
    except Exception as error:
        raise DatabaseError(explain(error, url)) from error
    # min_size=0: no connection is held until a command needs one (migrations already proved the URL works).
    return pool
