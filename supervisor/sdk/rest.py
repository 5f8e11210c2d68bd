"""One Discord REST call: one timeout, and its outcome classified, as daemon/outcomes.py classifies gateway endings.

    result = await ctx.discord(member.add_roles(role, reason="Auto join role"))
    if result.outcome is Outcome.UNKNOWN_TARGET and result.code == DiscordCode.UNKNOWN_ROLE: ...

Features keep their own policies (retry, warn in status, give up); what a failure *is* is said here once, so no
feature lists exception tuples or Discord's error codes itself.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp
import discord

T = TypeVar("T")

DISCORD_TIMEOUT = 30.0  # seconds for one call, discord.py's own retries of a 5xx or 429 included


class Outcome(enum.StrEnum):
    DONE = "done"
    UNKNOWN_TARGET = "unknown target"  # 404: the member, role, channel, ban... does not exist (any more)
    FORBIDDEN = "forbidden"  # 403: a permission or the role hierarchy is missing: retrying will not help
    REFUSED = "refused"  # another 4xx: Discord will not take this request as it is
    RATE_LIMITED = "rate limited"  # 429 beyond what discord.py waits for itself
    TRANSIENT = "transient"  # 5xx, a timeout, the network: a later try may succeed


class DiscordCode(enum.IntEnum):
    """Discord's JSON error codes that features act on (`result.code`)."""

    UNKNOWN_CHANNEL = 10003
    UNKNOWN_GUILD = 10004
    UNKNOWN_MEMBER = 10007
    UNKNOWN_MESSAGE = 10008
    UNKNOWN_ROLE = 10011
    UNKNOWN_USER = 10013
    UNKNOWN_BAN = 10026


@dataclass(frozen=True)
class CallResult(Generic[T]):
    """What one call did: its `outcome`, the call's `value` when done, the `error` otherwise."""

    outcome: Outcome
    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """The call was done."""
        return self.outcome is Outcome.DONE

    @property
    def retryable(self) -> bool:
        """A later try may do better (transient or rate limited)."""
        return self.outcome in (Outcome.TRANSIENT, Outcome.RATE_LIMITED)

    @property
    def status(self) -> int | None:
        """The HTTP status Discord answered, if it answered."""
        return getattr(self.error, "status", None)

    @property
    def code(self) -> int | None:
        """Discord's JSON error code (DiscordCode), if it gave one."""
        return getattr(self.error, "code", None)

    def describe(self) -> str:
        """One line for a log: what went wrong, never a traceback."""
        if self.error is None:
            return str(self.outcome)
        return str(self.error) or repr(self.error)


def classify(error: BaseException) -> Outcome:
    """What a failed call's exception means."""
    if isinstance(error, discord.NotFound):
        return Outcome.UNKNOWN_TARGET
    if isinstance(error, discord.Forbidden):
        return Outcome.FORBIDDEN
    if isinstance(error, discord.RateLimited):
        return Outcome.RATE_LIMITED
    if isinstance(error, discord.HTTPException):
        if error.status == 429:
            return Outcome.RATE_LIMITED
        return Outcome.TRANSIENT if error.status >= 500 else Outcome.REFUSED
    return Outcome.TRANSIENT  # TimeoutError, aiohttp.ClientError, OSError


async def discord_call(call: Awaitable[T], *, timeout: float = DISCORD_TIMEOUT) -> CallResult[T]:
    """Await one Discord call within `timeout` seconds; never raises for what Discord or the network did
    (a cancel still cancels)."""
    try:
        async with asyncio.timeout(timeout):
            value = await call
    except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as error:
        return CallResult(classify(error), error=error)
    return CallResult(Outcome.DONE, value)
