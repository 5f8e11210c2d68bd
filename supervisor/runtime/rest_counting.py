"""Count one bot's REST calls, Discord's 429 answers and the replies it sent, from aiohttp's request trace.

discord.py retries a 429 inside its own request loop, so only the HTTP session sees every answer; it takes an
aiohttp TraceConfig per bot (`http_trace=`), whose callback runs once per HTTP answer: two integer additions.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import aiohttp

from supervisor.runtime.counters import InstanceCounters

# A message the bot posted: a channel message, an interaction's response or follow-up (webhook).
_REPLY = re.compile(r"/channels/\d+/messages$|/interactions/\d+/[^/]+/callback$|/webhooks/\d+/[^/]+$")


def rest_trace(counters: InstanceCounters) -> aiohttp.TraceConfig:
    async def on_request_end(_session: aiohttp.ClientSession, _context: SimpleNamespace,
                             params: Any) -> None:
        status = params.response.status
        if status == 101:  # the gateway's websocket upgrade is not a REST call
            return
        counters.rest_calls += 1
        if status == 429:
            counters.rest_429 += 1
        elif status < 300 and params.method == "POST" and _REPLY.search(params.url.path):
            counters.replies += 1

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace
