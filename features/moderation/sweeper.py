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

import datetime as dt
from dataclasses import dataclass
from typing import Any

import discord
import structlog
from supervisor.sdk import (
    CallResult,
    DiscordCode,
    FeatureContext,
    KeyedLocks,
    Outcome,
    Periodic,
    is_database_unavailable,
)

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
LEGACY_MARKER = "Tempban by "  # tempbans made before the reason carried the row id



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
        # One `now` for the sweep and the next expiry: a row expiring while the sweep runs is the next one due,
        # not one the sweep missed and nothing wakes for until the safety sweep.
        now = self.ctx.clock.utcnow()
        try:
            await self.sweep(now)
            next_expiry = await queries.seconds_to_next_expiry(self.ctx.pool, now)
        except Exception as error:
            if not is_database_unavailable(error):
                raise  # a bug: the instance restarts, and the pending rows are swept after the restart
            self.ctx.log.warning("tempban_sweep_skipped", error=repr(error))
            return min(self.interval(), OUTAGE_RETRY_SECONDS)
        delays = [self.interval()]  # read every round: a live config edit applies at once
        if next_expiry is not None:
            elapsed = (self.ctx.clock.utcnow() - now).total_seconds()  # the round's own time
            delays.append(next_expiry - elapsed + EXPIRY_SLACK_SECONDS)
        if self._retries:
            delays.append(min(retry.not_before for retry in self._retries.values()) - self.ctx.clock.monotonic())
        return max(0.0, min(delays))

    async def sweep(self, at: dt.datetime | None = None) -> int:
        """Lift every tempban expired at `at` (default: now); the number lifted."""
        lifted = 0
        now = self.ctx.clock.monotonic()
        expired, unreadable = await queries.expired_tempbans(self.ctx.pool, at or self.ctx.clock.utcnow())
        for row_id in set(unreadable) - self._reported_unreadable:  # said once per row, never a crash
            self.ctx.log.error("tempban_row_unreadable", tempban_id=row_id)
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
            guild = bot.get_guild(ban.guild_id)
            if guild is None:  # not (yet) in this bot's guilds: not done, maybe later
                return self._postpone(ban, log, None)
            # Is the ban in Discord still this row's? A person may have unbanned and banned again since.
            user = discord.Object(ban.user_id)
            found = await self.ctx.discord(guild.fetch_ban(user), timeout=attempt_seconds)
            current: CallResult[Any] = found
            lifted = found.ok and found.value is not None and is_our_ban(found.value.reason, ban.id)
            if lifted:
                current = await self.ctx.discord(guild.unban(user, reason="Tempban expired"), timeout=attempt_seconds)
            already = current.outcome is Outcome.UNKNOWN_TARGET and current.code == DiscordCode.UNKNOWN_BAN
            if not current.ok and not already:  # Unknown Guild or User, refused, failed: not done, maybe later
                return self._postpone(ban, log, current)
            self._retries.pop(ban.id, None)
            if not await queries.mark_lifted(self.ctx.pool, ban.id):
                return False
        # One line per tempban, saying what happened to it; only a lift goes to the audit log.
        if already:
            log.info("tempban_already_unbanned")
            return False
        if not lifted:
            log.info("tempban_left_newer_ban")
            return False
        log.info("tempban_lifted")
        await send_audit(self.ctx, ban.guild_id, "Tempban expired", {
            "User": user_field(ban.user_id), "Moderator": f"<@{ban.moderator_id}>", "Reason": ban.reason or "",
        })
        return True

    def _postpone(self, ban: queries.Tempban, log: structlog.stdlib.BoundLogger,
                  result: CallResult[Any] | None) -> bool:
        retry = self._retries.get(ban.id) or _Retry(0, 0.0)
        retry.attempts += 1
        first = min(self.interval(), RETRY_FIRST_MAX_SECONDS)
        delay = min(first * 2 ** min(retry.attempts - 1, 20), RETRY_MAX_SECONDS)
        retry.not_before = self.ctx.clock.monotonic() + delay
        self._retries[ban.id] = retry
        log.warning("tempban_unban_failed", attempt=retry.attempts,
                    retry_in=delay, outcome=result.outcome if result else "guild not available",
                    status=result.status if result else None,
                    error=result.describe() if result else f"guild {ban.guild_id} is not one of this bot's")
        return False
