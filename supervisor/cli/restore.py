"""`restore`: replace one instance's schema with a backup."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from supervisor.cli.options import add_control_socket, add_instances, add_state_dir
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    restore = subparsers.add_parser(
        "restore", help="replace one instance's schema with a backup",
        description="Drop the instance's schema and load FILE in one transaction (a failure changes nothing), "
        "then run the migrations, so an older backup is brought up to date. Asks first unless --yes. With a "
        "daemon running, the instance is stopped through the control socket and started again afterwards; "
        "other instances are not touched. A backup of another instance's schema is refused unless "
        "--from-schema names it.",
    )
    add_instances(restore)
    add_state_dir(restore)
    add_control_socket(restore)
    restore.add_argument("name", metavar="NAME", help="the instance to restore")
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup (plain SQL, gzipped or not)")
    restore.add_argument("--yes", action="store_true", help="do not ask before dropping the schema")
    restore.add_argument("--from-schema", metavar="SCHEMA",
                         help="accept a backup of this other schema and restore it under the instance's own")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import restore

    return restore.run(settings, settings.state_dir, settings.socket_path(), args.name, args.file, args.yes,
                       args.from_schema)
