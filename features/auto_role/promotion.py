"""Promotion: on the message path and in a periodic scan, guarded by an atomic claim in the database.

Only members who currently hold from_role are considered. The claim makes one caller win however many paths
race; if Discord then refuses, the claim is released and a later message or scan tries again. A deleted role
or a missing permission is one log line (repeated only when the problem changes) and a `status` warning.
"""

from __future__ import annotations

import asyncio
import contextlib

import discord
from supervisor.sdk import CallResult, DiscordCode, FeatureContext, Outcome, is_database_unavailable

from . import queries
from .activity import ActivityCounter
from .criteria import Rule, member_since

REASON = "Auto-role promotion"


class Promoter:
    def __init__(self, ctx: FeatureContext, counter: ActivityCounter):
        self.ctx = ctx
        self.counter = counter
        # Database state of members who hold from_role and posted (the message path reads it once per member).
        self._known: dict[tuple[int, int], queries.Activity] = {}
        self._reported: dict[str, str] = {}  # problem -> message logged: one line per problem, not per member

    def rule(self) -> Rule:
        return Rule.from_settings(self.ctx.settings)

    # -- the two paths ---------------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        member = message.author
        if message.guild is None or member.bot or not isinstance(member, discord.Member):
            return
        self.counter.record(message.guild.id, member.id, member.joined_at)
        rule = self.rule()
        if member.get_role(rule.from_role) is None:
            return
        key = (message.guild.id, member.id)
        activity = self._known.get(key)
        if activity is None:
            found = await queries.activities(self.ctx.pool, message.guild.id, [member.id])
            activity = self._known[key] = found.get(member.id, queries.NO_ACTIVITY)
        if activity.promoted:
            return
        messages = activity.message_count + self.counter.pending(*key)
        if rule.qualifies(member_since=member_since(member.joined_at, activity.first_seen), messages=messages,
                          now=discord.utils.utcnow()):
            await self.try_promote(member)

    def flushed(self, rows: list) -> None:
        """New totals from a flush keep the message path's copies true."""
        for row in rows:
            key = (int(row["guild_id"]), int(row["user_id"]))
            if key in self._known:
                self._known[key] = queries.Activity(row["message_count"], row["first_seen"], row["promoted"])

    async def scan(self) -> None:
        """Every guild that has from_role: everyone holding it who qualifies by age or by count."""
        rule = self.rule()
        guilds = [guild for guild in self.ctx.bot.guilds if guild.get_role(rule.from_role) is not None]
        if not guilds:
            self._problem("from_role", f"[auto_role].from_role {rule.from_role} is not a role of any server "
                                       "this bot is in", role_id=rule.from_role)
            return
        self._solved("from_role")
        now = discord.utils.utcnow()
        for guild in guilds:
            if not guild.chunked:
                await guild.chunk()
            role = guild.get_role(rule.from_role)
            candidates = [m for m in role.members if not m.bot] if role is not None else []
            if not candidates:
                continue
            found = await queries.activities(self.ctx.pool, guild.id, [m.id for m in candidates])
            for member in candidates:
                activity = found.get(member.id, queries.NO_ACTIVITY)
                if activity.promoted:
                    continue
                messages = activity.message_count + self.counter.pending(guild.id, member.id)
                if rule.qualifies(member_since=member_since(member.joined_at, activity.first_seen),
                                  messages=messages, now=now):
                    await self.try_promote(member)

    # -- one promotion ---------------------------------------------------------------------------
    async def try_promote(self, member: discord.Member) -> bool:
        """Claim, add to_role, remove from_role. True only for the caller that promoted the member."""
        rule = self.rule()
        if rule.from_role == rule.to_role:
            self._problem("same_role", "[auto_role] from_role and to_role are the same role: nothing to do",
                          role_id=rule.to_role)
            return False
        guild = member.guild
        pool = self.ctx.pool
        if not await queries.claim_promotion(pool, guild.id, member.id, member.joined_at):
            self._known[(guild.id, member.id)] = queries.Activity(0, None, True)
            return False
        try:
            step = "to_role"
            result = await self.ctx.discord(member.add_roles(discord.Object(rule.to_role), reason=REASON))
            if result.ok:
                step = "from_role"
                result = await self.ctx.discord(member.remove_roles(discord.Object(rule.from_role), reason=REASON))
            if not result.ok:
                await self._release(guild.id, member.id)
                self._discord_failed(guild, member, rule, step, result)
                return False
        except asyncio.CancelledError:  # the instance is stopping mid-promotion: leave no claim behind
            with contextlib.suppress(Exception):
                await asyncio.shield(queries.release_promotion(pool, guild.id, member.id))
            raise
        await queries.finish_promotion(pool, guild.id, member.id)
        self._known[(guild.id, member.id)] = queries.Activity(0, None, True)
        self.ctx.log.info("member_promoted", guild_id=guild.id, user_id=member.id, from_role=rule.from_role,
                          to_role=rule.to_role)
        for key in ("role", "permission"):
            self._solved(key)
        return True

    async def _release(self, guild_id: int, user_id: int) -> None:
        try:
            await queries.release_promotion(self.ctx.pool, guild_id, user_id)
        except Exception as error:  # the claim goes stale and is taken again later
            if not is_database_unavailable(error):
                raise
            self.ctx.log.warning("promotion_claim_not_released", guild_id=guild_id, user_id=user_id,
                                 retry_after_seconds=queries.STALE_CLAIM_SECONDS, error=repr(error))

    def _discord_failed(self, guild: discord.Guild, member: discord.Member, rule: Rule, step: str,
                        result: CallResult[None]) -> None:
        role_id = rule.to_role if step == "to_role" else rule.from_role
        if result.outcome is Outcome.UNKNOWN_TARGET and result.code == DiscordCode.UNKNOWN_ROLE:
            self._problem("role", f"[auto_role].{step} {role_id} does not exist in server {guild.name!r} "
                                  "(deleted?): nobody is promoted until it is fixed",
                          guild_id=guild.id, role_id=role_id)
        elif result.outcome is Outcome.FORBIDDEN:
            self._problem("permission", f"no permission to manage role {role_id} in server {guild.name!r}: "
                                        "the bot needs Manage Roles and a role above it", guild_id=guild.id,
                          role_id=role_id)
        elif result.outcome is Outcome.UNKNOWN_TARGET and result.code == DiscordCode.UNKNOWN_MEMBER:
            self.ctx.log.info("promotion_skipped_member_left", guild_id=guild.id, user_id=member.id)
        else:
            self.ctx.log.warning("promotion_failed", guild_id=guild.id, user_id=member.id, role_id=role_id,
                                 outcome=result.outcome, status=result.status, error=result.describe())

    def _problem(self, key: str, message: str, **fields: object) -> None:
        self.ctx.warn(key, message)
        if self._reported.get(key) != message:
            self._reported[key] = message
            self.ctx.log.warning("auto_role_misconfigured", problem=message, **fields)

    def _solved(self, key: str) -> None:
        self.ctx.clear_warning(key)
        self._reported.pop(key, None)
