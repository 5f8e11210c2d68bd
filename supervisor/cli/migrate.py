"""`migrate`: apply pending migrations to the named instances' schemas."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_instances, add_state_dir
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    migrate = subparsers.add_parser(
        "migrate", help="apply pending database migrations",
        description="Apply pending migrations to the schema of each named instance (default: every configured "
        "instance). One instance's failure does not stop the others; exit 1 if any failed.",
    )
    add_instances(migrate)
    add_state_dir(migrate)
    migrate.add_argument("names", nargs="*", metavar="NAME", help="instances to migrate (default: all)")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import migrate

    return migrate.run(settings, args.names, settings.state_dir)
