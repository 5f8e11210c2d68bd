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


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import control_client

    return control_client.status(settings.socket_path(), args.json)
