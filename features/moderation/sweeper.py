"""Lifts expired tempbans when they expire: one timer per instance, sleeping until the next expiry.

Each round lifts what is due and returns the seconds until the next expiry (or the next retry), so an idle
instance runs no query until then. A new tempban wakes the timer (its expiry may come first). A slow safety
sweep every `sweep_interval` seconds (10 minutes by default) catches rows written behind the bot's back, and one
round runs right after the instance starts.

A row is marked lifted only after Discord confirms the unban (or says there is no such ban); an unban Discord
refuses or fails stays pending and is retried with a growing delay. Rows live in Postgres, so a ban that
expired while the daemon was down is lifted by the first sweep after the next start.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import discord
import structlog
from supervisor.sdk import FeatureContext, KeyedLocks, Periodic, is_database_unavailable

from . import queries
from .audit import send_audit, user_field

FIRST_SWEEP_DELAY = 1.0
RETRY_MAX_SECONDS = 3600.0
# discord.py retries a 5xx inside one call, sleeping 1+3+5+7+9 s: one unban could hold the sweep for 25 s.
# An attempt gets one sweep interval, within these bounds; the sweep's own backoff does the rest.
MIN_ATTEMPT_SECONDS = 2.0
MAX_ATTEMPT_SECONDS = 30.0
RETRY_FIRST_MAX_SECONDS = 30.0  # the first retry of a failed unban waits one sweep interval, at most this long
OUTAGE_RETRY_SECONDS = 30.0  # while the database is down, try again this often (not only at the safety sweep)
EXPIRY_SLACK_SECONDS = 0.05  # wake just after an expiry, not a hair before it (clocks are read separately)
UNKNOWN_BAN = 10026
LEGACY_MARKER = "Tempban by "  # tempbans made before the reason carried the row id

# Failures worth a later retry: Discord refused or erred, or could not be reached.
_RETRYABLE = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)


def ban_marker(tempban_id: int) -> str:
    """How a tempban's Discord ban reason begins: the row it belongs to."""
    return f"Tempban #{tempban_id}"


def is_our_ban(reason: str | None, tempban_id: int) -> bool:
    """The ban in Discord is still the one this row made (not a later one by a person or another command)."""
    reason = reason or ""
    return reason.startswith(ban_marker(tempban_id) + " ") or reason.startswith(LEGACY_MARKER)


@dataclass
class _Retry:
    attempts: int
    not_before: float


class TempbanSweeper:
    def __init__(self, ctx: FeatureContext, locks: KeyedLocks):
        self.ctx = ctx
        self.locks = locks  # shared with the ban and unban commands
        self._retries: dict[int, _Retry] = {}  # tempban id -> backoff; this instance's only
        self.periodic: Periodic | None = None  # the timer running `round`, set when the Cog loads
        self._reported_unreadable: set[int] = set()

    def tempban_written(self) -> None:
        """A new tempban: its expiry may come before the one the timer sleeps until."""
        if self.periodic is not None:
            self.periodic.wake()

    def interval(self) -> float:
        return float(self.ctx.config.settings["moderation"]["sweep_interval"])

    def attempt_seconds(self) -> float:
        return min(max(self.interval(), MIN_ATTEMPT_SECONDS), MAX_ATTEMPT_SECONDS)

    async def round(self) -> float:
        """Lift what is due; return the seconds until the next round (the kit's `every` sleeps that long)."""
        try:
            await self.sweep()
            next_expiry = await queries.seconds_to_next_expiry(self.ctx.pool)
        except Exception as error:
            if not is_database_unavailable(error):
                raise  # a bug: the instance restarts, and the pending rows are swept after the restart
            self.ctx.log.warning("tempban sweep skipped: database unavailable", error=repr(error))
            return min(self.interval(), OUTAGE_RETRY_SECONDS)
        delays = [self.interval()]  # read every round: a live config edit applies at once
        if next_expiry is not None:
            delays.append(next_expiry + EXPIRY_SLACK_SECONDS)
        if self._retries:
            delays.append(min(retry.not_before for retry in self._retries.values()) - time.monotonic())
        return max(0.0, min(delays))

    async def sweep(self) -> int:
        lifted = 0
        now = time.monotonic()
        expired, unreadable = await queries.expired_tempbans(self.ctx.pool)
        for row_id in set(unreadable) - self._reported_unreadable:  # said once per row, never a crash
            self.ctx.log.error("tempban row has a guild or user id that is not a Discord ID; skipped",
                               tempban_id=row_id)
        self._reported_unreadable = set(unreadable)
        for stale in self._retries.keys() - {ban.id for ban in expired}:
            del self._retries[stale]  # closed meanwhile (an unban command, a newer ban)
        for ban in expired:
            retry = self._retries.get(ban.id)
            if retry and retry.not_before > now:
                continue
            if await self._lift(ban):
                lifted += 1
        return lifted

    async def _lift(self, ban: queries.Tempban) -> bool:
        bot = self.ctx.bot
        assert bot is not None
        log = self.ctx.log.bind(guild_id=ban.guild_id, user_id=ban.user_id, tempban_id=ban.id)
        async with self.locks.hold((ban.guild_id, ban.user_id)):
            if not await queries.is_pending(self.ctx.pool, ban.id):
                return False  # an unban command or a newer ban closed it while we waited for the lock
            attempt_seconds = self.attempt_seconds()
            try:
                # Is the ban in Discord still this row's? A person may have unbanned and banned again since.
                current = await asyncio.wait_for(bot.http.get_ban(ban.user_id, ban.guild_id), attempt_seconds)
                if is_our_ban(current.get("reason"), ban.id):
                    await asyncio.wait_for(bot.http.unban(ban.user_id, ban.guild_id, reason="Tempban expired"),
                                           attempt_seconds)
                    closed_as = "tempban expired and lifted"
                else:
                    closed_as = "tempban expired; the ban in Discord is a newer one, left in place"
            except discord.NotFound as error:
                if error.code != UNKNOWN_BAN:  # Unknown Guild, Unknown User: not done, maybe later
                    return self._postpone(ban, log, error)
                closed_as = "tempban expired; the user was already unbanned"
            except _RETRYABLE as error:
                return self._postpone(ban, log, error)
            self._retries.pop(ban.id, None)
            if not await queries.mark_lifted(self.ctx.pool, ban.id):
                return False
        log.info(closed_as)  # one line per tempban, saying what happened to it
        if closed_as != "tempban expired and lifted":
            return False  # nothing lifted, nothing for the audit log
        await send_audit(self.ctx, ban.guild_id, "Tempban expired", {
            "User": user_field(ban.user_id), "Moderator": f"<@{ban.moderator_id}>", "Reason": ban.reason or "",
        })
        return True

    def _postpone(self, ban: queries.Tempban, log: structlog.stdlib.BoundLogger, error: Exception) -> bool:
        retry = self._retries.get(ban.id) or _Retry(0, 0.0)
        retry.attempts += 1
        first = min(self.interval(), RETRY_FIRST_MAX_SECONDS)
        delay = min(first * 2 ** min(retry.attempts - 1, 20), RETRY_MAX_SECONDS)
        retry.not_before = time.monotonic() + delay
        self._retries[ban.id] = retry
        log.warning("unban failed; the tempban stays pending and is retried", attempt=retry.attempts,
                    retry_in=delay, status=getattr(error, "status", None),
                    error=repr(error) if isinstance(error, TimeoutError) else str(error) or repr(error))
        return False
