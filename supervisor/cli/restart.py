"""`restart`: restart one instance of the running daemon."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_control_socket
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    restart = subparsers.add_parser(
        "restart", help="restart one instance (new pool, new bot connection)",
        description="Restart one instance of the running daemon, also one that failed.",
    )
    add_control_socket(restart)
    restart.add_argument("name", metavar="NAME")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import control_client

    return control_client.act(settings.socket_path(), {"command": "restart", "name": args.name},
                              f"restarting {args.name}")
