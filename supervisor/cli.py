"""The `discord-supervisor` command line."""

from __future__ import annotations

import argparse
import sys

from supervisor import __version__
from supervisor.settings import SupervisorSettings

DESCRIPTION = """\
Host many Discord bots in one process. Each folder under the instances directory that holds a
config.toml is one bot; its .env holds the token and database settings, its personality.txt the
bot's voice. Every bot gets its own Postgres schema."""

EPILOG = """\
environment:
  SUPERVISOR_INSTANCES   default for --instances (else ./instances)
  DATABASE_URL           Postgres for instances whose .env sets none
  DISCORD_API_BASE_URL   REST base URL for every bot (an emulator or a rate-limit proxy)
  DISCORD_GATEWAY_URL    gateway WebSocket URL for every bot

exit status: 0 success, 1 a problem was found or an action failed, 2 bad usage."""


def _add_instances(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instances", metavar="DIR", help="folder of instance folders (default: $SUPERVISOR_INSTANCES or ./instances)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discord-supervisor", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check", help="validate every instance folder (no database needed)",
        description="Validate each instance's config.toml, .env and personality file, and the rules between "
        "instances. Prints one line per instance and every problem as file:line: field: message. "
        "Exit 0 when every configured instance is valid.",
    )
    _add_instances(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON")

    migrate = commands.add_parser(
        "migrate", help="apply pending database migrations",
        description="Apply pending migrations to the schema of each named instance (default: every configured "
        "instance). One instance's failure does not stop the others; exit 1 if any failed.",
    )
    _add_instances(migrate)
    migrate.add_argument("names", nargs="*", metavar="NAME", help="instances to migrate (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    settings = SupervisorSettings.from_sources(instances=getattr(args, "instances", None))
    if args.command == "check":
        from supervisor.commands import check

        return check.run(settings, args.json)
    if args.command == "migrate":
        from supervisor.commands import migrate

        return migrate.run(settings, args.names)
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
