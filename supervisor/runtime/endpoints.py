"""Where every bot in this process talks to: Discord, an emulator, or an HTTP rate-limit proxy.

discord.py keeps the REST base and gateway URL as process-global class attributes, so they are set once per
process, before any bot starts, and apply to all of them. An extra CA (tls.py) is process-wide the same way:
bots built afterwards trust it for wss voice.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

from supervisor.runtime.tls import trust_extra_ca


def apply_endpoints(api_base_url: str | None, gateway_url: str | None, ca_file: str | None = None) -> None:
    if ca_file:
        trust_extra_ca(ca_file)  # first: a bad file raises before anything changed
    if api_base_url:
        discord.http.Route.BASE = api_base_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
