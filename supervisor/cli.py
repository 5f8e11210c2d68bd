"""The `discord-supervisor` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from supervisor import __version__
from supervisor.settings import SupervisorSettings

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
  FINNHUB_BASE_URL       stock quotes' base URL for every bot (default https://finnhub.io)
  SUPERVISOR_LOG_LEVEL   default for run --log-level
  STATE_DIRECTORY        default for --state-dir (set by systemd's StateDirectory=; else ./var)
  RUNTIME_DIRECTORY      where the control socket goes (set by systemd's RuntimeDirectory=)
  SUPERVISOR_HTTP_LISTEN default for run --http-listen (the web console and /metrics)
  SUPERVISOR_HTTP_TOKEN  the token the console and /metrics ask for (needed off loopback)

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
    check.add_argument("--db", action="store_true",
                       help="also connect for every valid instance and report: reachable, server version, whether "
                       "the role may create schemas, connections in use and allowed")
    _add_state_dir(check)

    migrate = commands.add_parser(
        "migrate", help="apply pending database migrations",
        description="Apply pending migrations to the schema of each named instance (default: every configured "
        "instance). One instance's failure does not stop the others; exit 1 if any failed.",
    )
    _add_instances(migrate)
    _add_state_dir(migrate)
    migrate.add_argument("names", nargs="*", metavar="NAME", help="instances to migrate (default: all)")

    run = commands.add_parser(
        "run", help="run every configured instance (the daemon)",
        description="Validate, migrate and start every configured, valid instance, each as its own bot in this "
        "process. Invalid instances are logged and skipped; a bot whose token or intents Discord refuses is "
        "marked failed while the others keep running. SIGTERM or Ctrl-C stops all bots and exits 0.",
    )
    _add_instances(run)
    run.add_argument("--api-base-url", metavar="URL", help="Discord REST base URL (default: $DISCORD_API_BASE_URL "
                     "or Discord's); point it at an emulator or an HTTP rate-limit proxy")
    run.add_argument("--gateway-url", metavar="URL", help="Discord gateway URL (default: $DISCORD_GATEWAY_URL)")
    _add_finnhub_url(run)
    _add_control_socket(run)
    _add_state_dir(run)
    run.add_argument("--no-watch", action="store_true",
                     help="do not watch the instances directory (SIGHUP and `reload` still rescan)")
    run.add_argument("--shutdown-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="how long stopping may take before the daemon gives up (default 10)")
    run.add_argument("--guild-ready-timeout", type=float, default=2.0, metavar="SECONDS",
                     help=argparse.SUPPRESS)  # tests and the sandbox: how long discord.py waits for guilds
    run.add_argument("--backoff-first", type=float, default=1.0, metavar="SECONDS",
                     help=argparse.SUPPRESS)  # tests: the first restart delay (it doubles up to 60 s)
    run.add_argument("--discord-defaults", action="store_true",
                     help=argparse.SUPPRESS)  # bench/chatter.py: discord.py's default caches, compression and reads
    run.add_argument("--log-level", default=os.environ.get("SUPERVISOR_LOG_LEVEL", "INFO").upper(),
                     choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper,
                     help="DEBUG, INFO, WARNING or ERROR (default INFO or $SUPERVISOR_LOG_LEVEL)")
    run.add_argument("--log-format", choices=["auto", "json", "console"], default="auto",
                     help="auto: console on a terminal, JSON lines otherwise")
    run.add_argument("--mcp-listen", metavar="HOST:PORT", default=os.environ.get("MCP_LISTEN") or None,
                     help="serve one MCP endpoint for the whole fleet at http://HOST:PORT/mcp (default: off, or "
                     "$MCP_LISTEN); a non-loopback HOST needs $MCP_AUTH_TOKEN. Each instance opts in with its "
                     "`mcp` feature and `[mcp] tools` allow-list. The same listener serves the console and /metrics")
    run.add_argument("--http-listen", metavar="HOST:PORT", default=os.environ.get("SUPERVISOR_HTTP_LISTEN") or None,
                     help="serve the web console at http://HOST:PORT/ and Prometheus metrics at /metrics (default: "
                     "off, or $SUPERVISOR_HTTP_LISTEN; port 0 picks a free one); a non-loopback HOST needs "
                     "$SUPERVISOR_HTTP_TOKEN; with --mcp-listen set to the same address it serves /mcp too")

    mcp = commands.add_parser(
        "mcp", help="serve the running daemon's MCP tools over stdio (for MCP clients that launch a command)",
        description="An MCP server on standard input and output that forwards every tool call to the running "
        "daemon through its control socket, with that socket's permissions and nothing more. Instances opt in "
        "with their `mcp` feature and `[mcp] tools` allow-list, as for the HTTP endpoint (run --mcp-listen).",
    )
    _add_control_socket(mcp)

    backup = commands.add_parser(
        "backup", help="pg_dump one instance's schema (or every instance's, --all)",
        description="Write a plain-SQL pg_dump of each named instance's schema, and of nothing else; gzipped when "
        "the file name ends in .gz. Default file: <state-dir>/backups/<instance>-<UTC date-time>.sql.gz. The "
        "pg_dump used suits the server's major version: the bundled one for the bundled server, else the one on "
        "PATH. Exit 1 if any backup failed.",
    )
    _add_instances(backup)
    _add_state_dir(backup)
    backup.add_argument("names", nargs="*", metavar="NAME", help="instances to back up")
    backup.add_argument("--all", action="store_true", dest="all_instances", help="every configured instance")
    backup.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE (one instance only)")
    backup.add_argument("--keep", type=int, metavar="N",
                        help="after each backup, delete all but the newest N default-named backups of that instance")

    restore = commands.add_parser(
        "restore", help="replace one instance's schema with a backup",
        description="Drop the instance's schema and load FILE in one transaction (a failure changes nothing), "
        "then run the migrations, so an older backup is brought up to date. Asks first unless --yes. With a "
        "daemon running, the instance is stopped through the control socket and started again afterwards; "
        "other instances are not touched. A backup of another instance's schema is refused unless "
        "--from-schema names it.",
    )
    _add_instances(restore)
    _add_state_dir(restore)
    _add_control_socket(restore)
    restore.add_argument("name", metavar="NAME", help="the instance to restore")
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup (plain SQL, gzipped or not)")
    restore.add_argument("--yes", action="store_true", help="do not ask before dropping the schema")
    restore.add_argument("--from-schema", metavar="SCHEMA",
                         help="accept a backup of this other schema and restore it under the instance's own")

    status = commands.add_parser(
        "status", help="show every instance of the running daemon",
        description="One line per instance: state, since when, restarts, guilds, gateway latency, and the last "
        "error or rejected config edit. Exit 1 when no daemon is running.",
    )
    _add_control_socket(status)
    status.add_argument("--json", action="store_true", help="print JSON")

    reload = commands.add_parser(
        "reload", help="rescan instance folders now (all, or the named ones)",
        description="Like SIGHUP: validate the instance folders again and apply what changed.",
    )
    _add_control_socket(reload)
    reload.add_argument("names", nargs="*", metavar="NAME")

    restart = commands.add_parser(
        "restart", help="restart one instance (new pool, new bot connection)",
        description="Restart one instance of the running daemon, also one that failed.",
    )
    _add_control_socket(restart)
    restart.add_argument("name", metavar="NAME")

    sandbox = commands.add_parser(
        "sandbox", help="try your instances against a local Discord emulator, chatting in the terminal",
        description="Run every instance folder (configured or not; tokens are invented) against a Discord emulator "
        "inside this process, with the bundled or configured Postgres and live reload. Each instance gets its own "
        "guild (#general, #mod-log, members alice, bob, carol, dave) that you own. Type messages to post them; "
        "/help lists the sandbox's own commands. Reads piped input too, one message per line.",
    )
    _add_instances(sandbox)
    _add_state_dir(sandbox)
    sandbox.add_argument("--keep", action="store_true",
                         help="keep the sandbox's data (its PostgreSQL in <state-dir>/sandbox, or its schemas on "
                         "DATABASE_URL) for the next run; by default it goes at exit")
    _add_finnhub_url(sandbox, " or the sandbox's simulated market")

    emulator = commands.add_parser(
        "emulator", help="serve the Discord emulator on loopback, for run --api-base-url/--gateway-url",
        description="Serve the project's Discord emulator on 127.0.0.1 until Ctrl-C. Each configured instance's "
        "token (and each --token) gets an application and its own guild (#general, #mod-log; members alice, bob, "
        "carol, dave). Prints the two URLs and the `run` command that uses them; bots' messages are printed as "
        "they arrive. The way to test your own features or integration against real discord.py, offline.",
    )
    _add_instances(emulator)
    emulator.add_argument("--port", type=int, default=8790, metavar="N", help="TCP port (default 8790; 0: any)")
    emulator.add_argument("--token", action="append", default=[], metavar="TOKEN",
                          help="also register this bot token (repeatable)")

    invite = commands.add_parser(
        "invite", help="print the link that adds an instance's bot to a server, with the permissions it needs",
        description="Print the OAuth2 link that invites the instance's bot with exactly the permissions its enabled "
        "features need, and the privileged intents to switch on in the developer portal first. The application id "
        "is CLIENT_ID from the instance's .env, else asked from Discord with the token.",
    )
    _add_instances(invite)
    invite.add_argument("name", metavar="NAME")

    features = commands.add_parser(
        "features", help="list every feature and its settings",
        description="Every feature this release ships: whether it is on by default, what it does, the gateway "
        "intents and permissions it needs, each of its config.toml settings with type, default and meaning, and "
        "the .env keys it reads. Generated from the features' own declarations (docs/features.md is the same).",
    )
    features.add_argument("--json", action="store_true", help="print JSON")

    new = commands.add_parser(
        "new", help="create an instance folder from the example",
        description="Copy the example instance into a new folder with a schema named after it; only the token "
        "is left to fill in.",
    )
    _add_instances(new)
    new.add_argument("name", metavar="NAME")
    new.add_argument("--owner", metavar="USER",
                     help="give the folder and its files to USER, the daemon's user (e.g. discord-supervisor; as root)")
    return parser


def _add_finnhub_url(parser: argparse.ArgumentParser, default: str = " or https://finnhub.io") -> None:
    parser.add_argument("--finnhub-url", metavar="URL",
                        help=f"base URL of the Finnhub API for stock quotes (default: $FINNHUB_BASE_URL{default})")


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir", metavar="DIR",
        help="where the daemon keeps its data: bundled Postgres, backups, sandbox log "
        "(default: $STATE_DIRECTORY under systemd, else ./var)",
    )


def _state_dir(args: argparse.Namespace) -> Path:
    chosen = getattr(args, "state_dir", None) or os.environ.get("STATE_DIRECTORY", "").split(":")[0] or "var"
    return Path(chosen)


def _add_control_socket(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--control-socket", metavar="PATH",
        help="the daemon's control socket (default: $RUNTIME_DIRECTORY/discord-supervisor.sock under systemd, "
        "else $XDG_RUNTIME_DIR/discord-supervisor/discord-supervisor.sock or "
        "/tmp/discord-supervisor-UID/discord-supervisor.sock)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    settings = SupervisorSettings.from_sources(
        instances=getattr(args, "instances", None),
        api_base_url=getattr(args, "api_base_url", None),
        gateway_url=getattr(args, "gateway_url", None),
        finnhub_url=getattr(args, "finnhub_url", None),
    )
    if args.command == "check":
        from supervisor.commands import check

        if args.db and args.json:
            parser.error("--db prints a report of its own: use it without --json")
        code = check.run(settings, args.json)
        if args.db:
            from supervisor.commands import dbcheck

            code = max(code, dbcheck.run(settings, _state_dir(args)))
        return code
    if args.command == "backup":
        from supervisor.commands import backup

        return backup.run(settings, _state_dir(args), args.names, args.all_instances, args.output, args.keep)
    if args.command == "restore":
        from supervisor.commands import restore

        return restore.run(settings, _state_dir(args), _socket(args), args.name, args.file, args.yes,
                           args.from_schema)
    if args.command == "migrate":
        from supervisor.commands import migrate

        return migrate.run(settings, args.names, _state_dir(args))
    if args.command == "run":
        from supervisor import logs
        from supervisor.daemon import main as daemon
        from supervisor.daemon.runner import RuntimeOptions

        logs.configure(args.log_level, json={"auto": None, "json": True, "console": False}[args.log_format])
        from supervisor.web.listen import HttpConfigError, from_flags

        try:
            http_listen = from_flags(args.http_listen, args.mcp_listen, dict(os.environ))
        except HttpConfigError as error:
            print(f"discord-supervisor: {error}", file=sys.stderr)
            return 2
        options = daemon.DaemonOptions(
            runtime=RuntimeOptions(guild_ready_timeout=args.guild_ready_timeout, backoff_first=args.backoff_first,
                                   upstreams=settings.upstreams(), discord_defaults=args.discord_defaults),
            control_socket=_socket(args),
            state_dir=_state_dir(args),
            shutdown_timeout=args.shutdown_timeout,
            watch=not args.no_watch,
            http_listen=http_listen,
        )
        return daemon.run(settings, options)
    if args.command == "mcp":
        from supervisor.mcp.stdio import serve_stdio

        return serve_stdio(_socket(args))
    if args.command == "sandbox":
        from supervisor.sandbox import main as sandbox

        return sandbox.run(settings, _state_dir(args), keep=args.keep)
    if args.command == "emulator":
        from supervisor.commands import emulator

        return emulator.run(settings, args.port, args.token)
    if args.command == "invite":
        from supervisor.commands import invite

        return invite.run(settings, args.name)
    if args.command == "features":
        from supervisor.commands import features

        return features.run(args.json)
    if args.command == "new":
        from supervisor.commands import new

        return new.run(settings, args.name, owner=args.owner)
    if args.command in ("status", "reload", "restart"):
        from supervisor.commands import control_client

        if args.command == "status":
            return control_client.status(_socket(args), args.json)
        if args.command == "reload":
            names = args.names
            done = f"reloaded {', '.join(names)}" if names else "reloaded every instance"
            return control_client.act(_socket(args), {"command": "reload", "names": names}, done)
        return control_client.act(_socket(args), {"command": "restart", "name": args.name},
                                  f"restarting {args.name}")
    parser.error(f"unknown command {args.command!r}")
    return 2


def _socket(args: argparse.Namespace) -> Path:
    from supervisor.daemon.control import default_socket_path

    return Path(args.control_socket) if args.control_socket else default_socket_path()


if __name__ == "__main__":
    sys.exit(main())
