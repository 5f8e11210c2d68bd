"""`check`: validate every instance folder (and, with --db, reach each one's database)."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_instances, add_state_dir
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check", help="validate every instance folder (no database needed)",
        description="Validate each instance's config.toml, .env and personality file, and the rules between "
        "instances. Prints one line per instance and every problem as file:line: field: message. "
        "Exit 0 when every configured instance is valid.",
    )
    add_instances(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--db", action="store_true",
                       help="also connect for every valid instance and report: reachable, server version, whether "
                       "the role may create schemas, connections in use and allowed")
    add_state_dir(check)


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import check

    if args.db and args.json:
        args.parser.error("--db prints a report of its own: use it without --json")
    code = check.run(settings, args.json)
    if args.db:
        from supervisor.commands import dbcheck

        code = max(code, dbcheck.run(settings, settings.state_dir))
    return code
