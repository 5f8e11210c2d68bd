"""`emulator`: serve the Discord emulator on loopback."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_instances
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    emulator = subparsers.add_parser(
        "emulator", help="serve the Discord emulator on loopback, for run --api-base-url/--gateway-url",
        description="Serve the project's Discord emulator on 127.0.0.1 until Ctrl-C. Each configured instance's "
        "token (and each --token) gets an application and its own guild (#general, #mod-log; members alice, bob, "
        "carol, dave). Prints the two URLs and the `run` command that uses them; bots' messages are printed as "
        "they arrive. The way to test your own features or integration against real discord.py, offline.",
    )
    add_instances(emulator)
    emulator.add_argument("--port", type=int, default=8790, metavar="N", help="TCP port (default 8790; 0: any)")
    emulator.add_argument("--token", action="append", default=[], metavar="TOKEN",
                          help="also register this bot token (repeatable)")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import emulator

    return emulator.run(settings, args.port, args.token)
