"""Options several commands share, written once (their help text is part of the documented interface)."""

from __future__ import annotations

import argparse


def add_instances(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instances", metavar="DIR", help="folder of instance folders (default: $SUPERVISOR_INSTANCES or ./instances)"
    )


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir", metavar="DIR",
        help="where the daemon keeps its data: bundled Postgres, backups, sandbox log "
        "(default: $STATE_DIRECTORY under systemd, else ./var)",
    )


def add_control_socket(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--control-socket", metavar="PATH",
        help="the daemon's control socket (default: $RUNTIME_DIRECTORY/discord-supervisor.sock under systemd, "
        "else $XDG_RUNTIME_DIR/discord-supervisor/discord-supervisor.sock or "
        "/tmp/discord-supervisor-UID/discord-supervisor.sock)",
    )


def add_finnhub_url(parser: argparse.ArgumentParser, default: str = " or https://finnhub.io") -> None:
    parser.add_argument("--finnhub-url", metavar="URL",
                        help=f"base URL of the Finnhub API for stock quotes (default: $FINNHUB_BASE_URL{default})")


def add_nyt_url(parser: argparse.ArgumentParser, default: str = " or https://www.nytimes.com") -> None:
    parser.add_argument("--nyt-url", metavar="URL",
                        help=f"base URL of the NYT puzzle endpoints for Wordle and Connections (default: "
                        f"$NYT_BASE_URL{default})")
