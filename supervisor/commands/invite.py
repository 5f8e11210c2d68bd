"""`discord-supervisor invite NAME`: the link that adds an instance's bot to a guild, with the permissions its
enabled features declare, and the privileged intents to switch on in the developer portal first."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO
from urllib.parse import urlencode

import aiohttp
import discord

from supervisor.commands.selection import select_instances
from supervisor.needs import (
    PORTAL_URL,
    describe_intents,
    other_intents,
    permission_names,
    permissions_needed,
    privileged_intents,
)
from supervisor.settings import SupervisorSettings

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


def invite_url(client_id: int, permissions: discord.Permissions) -> str:
    query = urlencode({"client_id": client_id, "scope": "bot", "permissions": permissions.value})
    return f"{AUTHORIZE_URL}?{query}"


async def fetch_client_id(api_base: str, token: str) -> int:
    """The application's id, asked from Discord with the bot's token."""
    headers = {"Authorization": f"Bot {token}"}
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
        f"{api_base.rstrip('/')}/oauth2/applications/@me", headers=headers
    ) as response:
        if response.status == 401:
            raise LookupError("Discord refused the token (401): check DISCORD_TOKEN in .env, or set CLIENT_ID")
        if response.status != 200:
            raise LookupError(f"Discord answered {response.status} when asked for the application; set CLIENT_ID")
        return int((await response.json())["id"])


def run(settings: SupervisorSettings, name: str, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    specs, failed = select_instances(settings, [name], err)
    if failed:
        return 1
    spec = specs[0]
    client_id = spec.env.client_id
    if client_id is None:
        try:
            client_id = asyncio.run(fetch_client_id(settings.api_base_url or discord.http.Route.BASE, spec.env.token))
        except (LookupError, aiohttp.ClientError, TimeoutError, OSError) as error:
            print(f"{name}: error: no CLIENT_ID in {name}/.env and asking Discord failed: {error}", file=err)
            return 1
    permissions = permissions_needed(spec.config)
    print(invite_url(client_id, permissions), file=out)
    print(f"permissions ({permissions.value}): {', '.join(permission_names(spec.config))}", file=out)
    print(f"privileged intents to switch on first ({PORTAL_URL}/{client_id}/bot): "
          f"{describe_intents(privileged_intents(spec.config))}", file=out)
    others = other_intents(spec.config)
    if others:
        print(f"other gateway intents it uses (no switch needed): {describe_intents(others)}", file=out)
    return 0
