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
