"""`drain`: hand every instance of the running daemon to the other daemons, and wait (docs/standby.md)."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_control_socket
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    drain = subparsers.add_parser(
        "drain", help="hand every instance of the running daemon to the other daemons, and wait",
        description="Before maintenance or an upgrade: the daemon hands its instances, one at a time, to the other "
        "daemons on the same databases (each bot is down for one reconnect) and takes none until `undrain`. "
        "Waits until they run elsewhere; exit 1 if some could not move (no other daemon has them) in time.",
    )
    add_control_socket(drain)
    drain.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                       help="how long to wait for every instance to move (default 600)")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import hosts

    return hosts.drain(settings.socket_path(), args.timeout)
