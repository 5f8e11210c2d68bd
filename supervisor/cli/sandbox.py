"""`sandbox`: the instances against an in-process Discord emulator, chatting in the terminal."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_finnhub_url, add_instances, add_nyt_url, add_state_dir
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    sandbox = subparsers.add_parser(
        "sandbox", help="try your instances against a local Discord emulator, chatting in the terminal",
        description="Run every instance folder (configured or not; tokens are invented) against a Discord emulator "
        "inside this process, with the bundled or configured Postgres and live reload. Each instance gets its own "
        "guild (#general, #mod-log, members alice, bob, carol, dave) that you own. Type messages to post them; "
        "/help lists the sandbox's own commands. Reads piped input too, one message per line.",
    )
    add_instances(sandbox)
    add_state_dir(sandbox)
    sandbox.add_argument("--keep", action="store_true",
                         help="keep the sandbox's data (its PostgreSQL in <state-dir>/sandbox, or its schemas on "
                         "DATABASE_URL) for the next run; by default it goes at exit")
    add_finnhub_url(sandbox, " or the sandbox's simulated market")
    add_nyt_url(sandbox, " or the sandbox's own puzzles")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.sandbox import main as sandbox

    return sandbox.run(settings, settings.state_dir, keep=args.keep)
