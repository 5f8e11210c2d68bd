"""Who holds a lease, and what a lease session asks of the runner that holds one."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from supervisor.database import DatabaseError

LEASE_CLASS = 0x44535550  # "DSUP": the first key of every lease; the second is hashtext(schema)
APPLICATION_PREFIX = "discord-supervisor lease"


class LeaseInterrupted(DatabaseError):
    """The lease could not be taken or kept just now (its session was lost, the daemon is stopping): retry."""


class LeaseUser(Protocol):
    """The runner that holds (or wants) an instance's lease."""

    @property
    def instance_name(self) -> str: ...

    def lease_lost(self) -> None:
        """Synchronously: the bot sends nothing more and its gateway socket is cut; then it starts over."""

    def hand_off(self) -> None:
        """Stop the bot and release the lease: another daemon is its place now."""

    def fleet_state(self) -> tuple[str, float]:
        """(state, since as a Unix time) as `status --fleet` shows it."""


@dataclass(frozen=True)
class Identity:
    daemon_id: str  # one process
    node: str  # stable across restarts: placement uses it
    host: str
    pid: int
    started: float


def holder_name() -> str:
    return f"{APPLICATION_PREFIX} {socket.gethostname()} {os.getpid()}"[:63]


@dataclass(frozen=True)
class Holder:
    """Where an instance runs when not on this daemon, as data (the console's host column, /metrics' lease holders
    per host); str() is how the log and `status` say it."""

    host: str | None = None  # None: not one of our daemons (or not known)
    pid: int | None = None
    placed: bool = False  # nobody holds it yet: placement puts it on that daemon
    address: str | None = None  # what Postgres knows of a holder that is not one of our daemons
    instance: str | None = None  # this daemon holds it, as that other instance (two folders, one schema)

    def __str__(self) -> str:
        if self.instance is not None:
            return f"this daemon, as instance {self.instance}"
        if self.host is not None:
            return f"{'placed on ' if self.placed else ''}host {self.host}, pid {self.pid}"
        if self.address:
            return f"another daemon at {self.address}"
        return "another daemon on this database" if self.address == "" else "another daemon"


def describe_holder(row: asyncpg.Record | None) -> Holder:
    """The lease's holder from its session's application_name, else what Postgres knows of its address."""
    if row is None:
        return Holder()
    name = row["application_name"] or ""
    if name.startswith(APPLICATION_PREFIX):
        parts = name[len(APPLICATION_PREFIX):].split()
        if len(parts) == 2 and parts[1].isdigit():
            return Holder(parts[0], int(parts[1]))
    return Holder(address=row["client_hostname"] or row["addr"] or "")
