"""Gateway reads that let one message's listeners run before the next message is parsed.

discord.py reads the gateway in a loop (`DiscordWebSocket.poll_event`) that suspends only when aiohttp has no
frame queued. Each message it parses schedules a task per listener (`on_message` of every feature, the
command processor), and those tasks run only once the loop suspends. A bot that falls behind has hundreds of
frames queued (aiohttp pauses the socket only past 128 KiB of frames, and a 256 KiB read is parsed whole), so
it parses them all first: with 20 busy bots, bench/chatter.py saw 39,000 tasks pending at once and a
million more Python objects than at rest. They are freed a moment later, but CPython keeps the 1 MiB arenas
they took for as long as one long-lived object (a cached message, a member) sits in each: RSS kept about
+3 MB per busy bot for good although the live objects grew by 0.15 MB per bot.

Yielding to the event loop before each read runs the previous message's tasks first (most finish at once),
so what is pending stays about one message per connection. One more loop turn per gateway message costs
microseconds. Voice websockets would read through the same class: it yields there too, harmlessly.
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord.gateway
import discord.http


class YieldingWebSocketResponse(discord.gateway.DiscordClientWebSocketResponse):
    """discord.py's websocket response (its close code kept), yielding to the event loop before each read."""

    async def receive(self, timeout: float | None = None) -> aiohttp.WSMessage:
        await asyncio.sleep(0)
        return await super().receive(timeout)


def use_yielding_reads() -> None:
    """Every Bot that logs in from now on in this process reads its gateway through YieldingWebSocketResponse
    (process-global: discord.py names the class when a bot's HTTP session is created at login)."""
    discord.http.DiscordClientWebSocketResponse = YieldingWebSocketResponse  # type: ignore[misc]
