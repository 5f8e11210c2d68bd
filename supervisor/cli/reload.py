"""`reload`: rescan instance folders now."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_control_socket
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    reload = subparsers.add_parser(
        "reload", help="rescan instance folders now (all, or the named ones)",
        description="Like SIGHUP: validate the instance folders again and apply what changed.",
    )
    add_control_socket(reload)
    reload.add_argument("names", nargs="*", metavar="NAME")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import control_client

    names = args.names
    done = f"reloaded {', '.join(names)}" if names else "reloaded every instance"
    return control_client.act(settings.socket_path(), {"command": "reload", "names": names}, done)
