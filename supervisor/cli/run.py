"""`run`: the daemon."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from supervisor.cli.hosts import add_host_options, host_options
from supervisor.cli.options import add_control_socket, add_finnhub_url, add_instances, add_nyt_url, add_state_dir
from supervisor.settings import LOG_FORMATS, LOG_LEVELS, SettingsError, SupervisorSettings, parse_workers


def add_parser(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run every configured instance (the daemon)",
        description="Validate, migrate and start every configured, valid instance, each as its own bot in this "
        "process. Invalid instances are logged and skipped; a bot whose token or intents Discord refuses is "
        "marked failed while the others keep running. SIGTERM or Ctrl-C stops all bots and exits 0.",
    )
    add_instances(run)
    run.add_argument("--api-base-url", metavar="URL", help="Discord REST base URL (default: $DISCORD_API_BASE_URL "
                     "or Discord's); point it at an emulator or an HTTP rate-limit proxy")
    run.add_argument("--gateway-url", metavar="URL", help="Discord gateway URL (default: $DISCORD_GATEWAY_URL)")
    run.add_argument("--ca-file", metavar="PEM", help="extra CA certificate(s) every bot trusts besides the "
                     "system's (default: $DISCORD_CA_FILE); the emulator's, for its wss:// voice server")
    add_finnhub_url(run)
    add_nyt_url(run)
    add_control_socket(run)
    add_state_dir(run)
    run.add_argument("--no-watch", action="store_true",
                     help="do not watch the instances directory (SIGHUP and `reload` still rescan)")
    # Defaults of None: SupervisorSettings.from_sources resolves flag, else $SUPERVISOR_<FLAG>, else the default.
    run.add_argument("--shutdown-timeout", type=float, metavar="SECONDS",
                     help="how long stopping may take before the daemon gives up (default 10)")
    run.add_argument("--guild-ready-timeout", type=float, metavar="SECONDS",
                     help=argparse.SUPPRESS)  # tests and the sandbox: how long discord.py waits for guilds
    run.add_argument("--backoff-first", type=float, metavar="SECONDS",
                     help=argparse.SUPPRESS)  # tests: the first restart delay (it doubles up to 60 s)
    run.add_argument("--discord-defaults", action="store_true",
                     help=argparse.SUPPRESS)  # bench/chatter.py: discord.py's default caches, compression and reads
    run.add_argument("--stall-threshold-ms", type=float, metavar="MS",
                     help="log an event-loop stall (which instance held the loop, how much of it was garbage "
                     "collection) once the loop was held this long (default 250)")
    run.add_argument("--log-level", choices=list(LOG_LEVELS), type=str.upper,
                     help="DEBUG, INFO, WARNING or ERROR (default INFO or $SUPERVISOR_LOG_LEVEL)")
    run.add_argument("--log-format", choices=list(LOG_FORMATS),
                     help="auto: console on a terminal, JSON lines otherwise")
    add_host_options(run)
    run.add_argument("--workers", metavar="N|auto", type=_workers,
                     help="run N daemon processes on this host under this one, each running a share of the "
                     "instances (placed as among hosts: docs/workers.md); a dead worker is restarted alone, "
                     "`status` and the control socket answer for all of them (default 1, or "
                     "$SUPERVISOR_WORKERS; auto: one per core)")
    run.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # set by the parent for its workers
    run.add_argument("--worker-count", type=int, help=argparse.SUPPRESS)  # likewise
    run.add_argument("--start-paused", action="append", default=[], metavar="NAME",
                     help=argparse.SUPPRESS)  # likewise: the instances paused through the parent
    run.add_argument("--mcp-listen", metavar="HOST:PORT",
                     help="serve one MCP endpoint for the whole fleet at http://HOST:PORT/mcp (default: off, or "
                     "$MCP_LISTEN); a non-loopback HOST needs $MCP_AUTH_TOKEN. Each instance opts in with its "
                     "`mcp` feature and `[mcp] tools` allow-list. The same listener serves the console and /metrics")
    run.add_argument("--http-listen", metavar="HOST:PORT",
                     help="serve the web console at http://HOST:PORT/ and Prometheus metrics at /metrics (default: "
                     "off, or $SUPERVISOR_HTTP_LISTEN; port 0 picks a free one); a non-loopback HOST needs "
                     "$SUPERVISOR_HTTP_TOKEN; with --mcp-listen set to the same address it serves /mcp too")


def _workers(text: str) -> int:
    try:
        return parse_workers("--workers", text)
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _peers(settings: SupervisorSettings, index: int | None, count: int | None) -> tuple[Path, ...]:
    """A worker's siblings' control sockets (its own included), from its own: ...worker2.sock -> ...workerK.sock."""
    if index is None or not count:
        return ()
    from supervisor.daemon.workers import sibling_sockets

    return sibling_sockets(settings.socket_path(), index, count)


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor import logs
    from supervisor.daemon import main as daemon
    from supervisor.daemon.runner import RuntimeOptions

    logs.configure(settings.log_level, json={"auto": None, "json": True, "console": False}[settings.log_format])
    if settings.workers > 1 and args.worker_index is None:
        if settings.http_listen or settings.mcp_listen:
            print("discord-supervisor: --http-listen and --mcp-listen serve one process's bots; they do not work "
                  "with --workers yet (run with --workers 1, or without them)", file=sys.stderr)
            return 2
        from supervisor.daemon import workers

        return workers.run(settings, getattr(args, "argv", None) or sys.argv[1:])
    from supervisor.web.listen import HttpConfigError, from_flags

    try:
        http_listen = from_flags(settings.http_listen, settings.mcp_listen, settings.http_token,
                                 settings.mcp_auth_token)
    except HttpConfigError as error:
        print(f"discord-supervisor: {error}", file=sys.stderr)
        return 2
    options = daemon.DaemonOptions(
        runtime=RuntimeOptions(guild_ready_timeout=settings.guild_ready_timeout,
                               backoff_first=settings.backoff_first, upstreams=settings.upstreams(),
                               discord_defaults=settings.discord_defaults),
        control_socket=settings.socket_path(),
        state_dir=settings.state_dir,
        shutdown_timeout=settings.shutdown_timeout,
        watch=settings.watch,
        stall_threshold=settings.stall_threshold_ms / 1000,
        http_listen=http_listen,
        hosts=host_options(settings, _peers(settings, args.worker_index, args.worker_count)),
        worker=args.worker_index,
        paused=frozenset(args.start_paused),
    )
    return daemon.run(settings, options)
