"""`undrain`: a drained daemon takes its share of the instances back (docs/standby.md)."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_control_socket
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    undrain = subparsers.add_parser(
        "undrain", help="let a drained daemon take its share of the instances back",
        description="Undo `drain`: the other daemons hand this one its share back, one instance at a time.",
    )
    add_control_socket(undrain)


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import hosts

    return hosts.undrain(settings.socket_path())
