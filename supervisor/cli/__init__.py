"""The `discord-supervisor` command line: the parser is assembled from one module per command.

Each module in COMMANDS has `add_parser(subparsers)` and `run(args, settings) -> int`; it imports what its command
needs inside `run`, so `--help` and every other command stay quick to start.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from supervisor import __version__
from supervisor.settings import SettingsError, SupervisorSettings

DESCRIPTION = """\
Host many Discord bots in one process. Each folder under the instances directory that holds a
config.toml is one bot; its .env holds the token and database settings, its personality.txt the
bot's voice. Every bot gets its own Postgres schema."""

EPILOG = """\
environment:
  SUPERVISOR_INSTANCES   default for --instances (else ./instances)
  DATABASE_URL           Postgres for instances whose .env sets none (else the bundled PostgreSQL)
  DISCORD_API_BASE_URL   REST base URL for every bot (an emulator or a rate-limit proxy)
  DISCORD_GATEWAY_URL    gateway WebSocket URL for every bot
  DISCORD_CA_FILE        extra CA certificate(s) (PEM) every bot trusts, e.g. the emulator's for wss voice
  FINNHUB_BASE_URL       stock quotes' base URL for every bot (default https://finnhub.io)
  NYT_BASE_URL           Wordle and Connections puzzles' base URL for every bot (default https://www.nytimes.com)
  SUPERVISOR_LOG_LEVEL   default for run --log-level
  STATE_DIRECTORY        default for --state-dir (set by systemd's StateDirectory=; else ./var)
  RUNTIME_DIRECTORY      where the control socket goes (set by systemd's RuntimeDirectory=)
  SUPERVISOR_HTTP_TOKEN  the token of the web console and /metrics (run --http-listen; needed off loopback)
  SUPERVISOR_<FLAG>      default for any daemon flag, e.g. SUPERVISOR_STATE_DIR, SUPERVISOR_SHUTDOWN_TIMEOUT

exit status: 0 success, 1 a problem was found or an action failed, 2 bad usage."""

# In the order `--help` lists them.
COMMANDS = ("check", "migrate", "run", "mcp", "backup", "restore", "status", "reload", "restart", "drain",
            "undrain", "sandbox", "emulator", "invite", "features", "new")


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"supervisor.cli.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discord-supervisor", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        command_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.parser = parser  # for a command's own usage errors (exit 2)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `run --workers N` starts its workers with these
    try:
        settings = SupervisorSettings.from_sources(args)
    except SettingsError as error:
        parser.error(str(error))
    return int(command_module(args.command).run(args, settings))


if __name__ == "__main__":
    sys.exit(main())
