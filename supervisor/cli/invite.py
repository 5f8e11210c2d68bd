"""`invite`: the link that adds an instance's bot to a server."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_instances
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    invite = subparsers.add_parser(
        "invite", help="print the link that adds an instance's bot to a server, with the permissions it needs",
        description="Print the OAuth2 link that invites the instance's bot with exactly the permissions its enabled "
        "features need, and the privileged intents to switch on in the developer portal first. The application id "
        "is CLIENT_ID from the instance's .env, else asked from Discord with the token.",
    )
    add_instances(invite)
    invite.add_argument("name", metavar="NAME")


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.commands import invite

    return invite.run(settings, args.name)
