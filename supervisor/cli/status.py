"""`status`: every instance of the running daemon."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_control_socket
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    status = subparsers.add_parser(
        "status", help="show every instance of the running daemon",
        description="One line per instance: state, since when, restarts, guilds, gateway latency, and the last "
        "error or rejected config edit. Exit 1 when no daemon is running.",
    )
    add_control_socket(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--fleet", action="store_true",
                        help="every instance of every daemon on the same databases (host, pid, state, since), "
                        "from the fleet tables (docs/standby.md)")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    if args.fleet:
        from supervisor.commands import hosts

        return hosts.fleet(settings.socket_path(), args.json)
    from supervisor.commands import control_client

    return control_client.status(settings.socket_path(), args.json)
