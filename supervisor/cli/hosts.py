"""`run`'s options for many daemons on one database (docs/standby.md)."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from supervisor.settings import SupervisorSettings

if TYPE_CHECKING:
    from supervisor.hosts.leases import HostOptions


def add_host_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--capacity", type=float, metavar="N",
                     help="this daemon's share of the instances relative to the other daemons on the same "
                     "databases (default 1; 2 takes twice as many; or $SUPERVISOR_CAPACITY)")
    run.add_argument("--standby", action="store_true",
                     help="take an instance only when no daemon without --standby runs it (a hot standby)")
    run.add_argument("--fleet-schema", metavar="NAME",
                     help="the schema of the fleet tables (daemons, instances) in each database (default "
                     "discord_supervisor); daemons share instances with those using the same one")


def host_options(settings: SupervisorSettings, peers: tuple[Path, ...] = ()) -> HostOptions:
    """`peers`: the control sockets of every worker of a `run --workers N` parent, this one's included."""
    from supervisor.hosts.leases import HostOptions

    if settings.capacity <= 0:
        raise SystemExit("discord-supervisor: --capacity must be more than 0")
    # The node names this daemon in placement: stable across its restarts, distinct per control socket.
    host = socket.gethostname()
    return HostOptions(capacity=settings.capacity, standby=settings.standby, fleet_schema=settings.fleet_schema,
                       node=f"{host}:{settings.socket_path()}", peers=tuple(f"{host}:{peer}" for peer in peers))
