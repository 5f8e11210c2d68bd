"""One aiohttp ClientSession for the whole process: every feature's plain HTTP calls share its connection pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp

from supervisor import __version__

if TYPE_CHECKING:
    from supervisor.sdk.context import FeatureContext

SHARED_KEY = "http.session"
DEFAULT_TIMEOUT_SECONDS = 30.0  # the original's shared HTTP client; a caller passes a shorter one per request
USER_AGENT = f"discord-supervisor/{__version__}"


def _new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=DEFAULT_TIMEOUT_SECONDS),
        headers={"User-Agent": USER_AGENT},
    )


async def http_session(ctx: FeatureContext) -> aiohttp.ClientSession:
    """The process's shared session (created on first use, closed at shutdown). Never close it yourself."""
    return await ctx.shared(SHARED_KEY, _new_session)
