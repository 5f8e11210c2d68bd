"""`new`: create an instance folder from the example."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_instances
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    new = subparsers.add_parser(
        "new", help="create an instance folder from the example",
        description="Copy the example instance into a new folder with a schema named after it; only the token "
        "is left to fill in.",
    )
    add_instances(new)
    new.add_argument("name", metavar="NAME")
    new.add_argument("--owner", metavar="USER",
                     help="give the folder and its files to USER, the daemon's user (e.g. discord-supervisor; as root)")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import new

    return new.run(settings, args.name, owner=args.owner)
