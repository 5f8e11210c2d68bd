"""`backup`: pg_dump instances' schemas."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from supervisor.cli.options import add_instances, add_state_dir
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    backup = subparsers.add_parser(
        "backup", help="pg_dump one instance's schema (or every instance's, --all)",
        description="Write a plain-SQL pg_dump of each named instance's schema, and of nothing else; gzipped when "
        "the file name ends in .gz. Default file: <state-dir>/backups/<instance>-<UTC date-time>.sql.gz. The "
        "pg_dump used suits the server's major version: the bundled one for the bundled server, else the one on "
        "PATH. Exit 1 if any backup failed.",
    )
    add_instances(backup)
    add_state_dir(backup)
    backup.add_argument("names", nargs="*", metavar="NAME", help="instances to back up")
    backup.add_argument("--all", action="store_true", dest="all_instances", help="every configured instance")
    backup.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE (one instance only)")
    backup.add_argument("--keep", type=int, metavar="N",
                        help="after each backup, delete all but the newest N default-named backups of that instance")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import backup

    return backup.run(settings, settings.state_dir, args.names, args.all_instances, args.output, args.keep)
