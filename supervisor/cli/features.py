"""`features`: every feature and its settings."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    features = subparsers.add_parser(
        "features", help="list every feature and its settings",
        description="Every feature this release ships: whether it is on by default, what it does, the gateway "
        "intents and permissions it needs, each of its config.toml settings with type, default and meaning, and "
        "the .env keys it reads. Generated from the features' own declarations (docs/features.md is the same).",
    )
    features.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import features

    return features.run(args.json)
