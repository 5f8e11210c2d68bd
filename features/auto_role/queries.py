"""member_activity SQL. Rows are keyed by (guild_id, user_id) as TEXT snowflakes, like discord-bot-rs wrote them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

# A claim older than this belongs to an attempt that never finished (the process died mid-promotion).
STALE_CLAIM_SECONDS = 600.0


@dataclass(frozen=True)
class Activity:
    message_count: int
    first_seen: dt.datetime | None
    promoted: bool


NO_ACTIVITY = Activity(0, None, False)


@dataclass(frozen=True)
class Increment:
    guild_id: int
    user_id: int
    messages: int
    joined_at: dt.datetime | None


async def add_counts(pool: asyncpg.Pool, increments: Sequence[Increment]) -> list[asyncpg.Record]:
    """One statement for a whole batch. `first_seen` becomes the earliest known of the join time and the row's
    own (rows discord-bot-rs wrote hold the first message's time). Returns the new totals."""
    return await pool.fetch(
        """
        INSERT INTO member_activity AS a (guild_id, user_id, message_count, first_seen)
        SELECT g, u, c, COALESCE(j, now()) FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[])
            AS t(g, u, c, j)
        ON CONFLICT (guild_id, user_id) DO UPDATE
            SET message_count = a.message_count + EXCLUDED.message_count,
                first_seen = LEAST(a.first_seen, EXCLUDED.first_seen)
        RETURNING guild_id, user_id, message_count, first_seen, promoted
        """,
        [str(i.guild_id) for i in increments], [str(i.user_id) for i in increments],
        [i.messages for i in increments], [i.joined_at for i in increments],
    )


async def add_count(pool: asyncpg.Pool, increment: Increment) -> None:
    """One message, one write: how discord-bot-rs counted (kept for the benchmark's comparison)."""
    await pool.execute(
        """
        INSERT INTO member_activity AS a (guild_id, user_id, message_count, first_seen)
        VALUES ($1, $2, $3, COALESCE($4, now()))
        ON CONFLICT (guild_id, user_id) DO UPDATE
            SET message_count = a.message_count + EXCLUDED.message_count,
                first_seen = LEAST(a.first_seen, EXCLUDED.first_seen)
        """,
        str(increment.guild_id), str(increment.user_id), increment.messages, increment.joined_at,
    )


async def activities(pool: asyncpg.Pool, guild_id: int, user_ids: Sequence[int]) -> dict[int, Activity]:
    rows = await pool.fetch(
        "SELECT user_id, message_count, first_seen, promoted FROM member_activity "
        "WHERE guild_id = $1 AND user_id = ANY($2::text[])",
        str(guild_id), [str(u) for u in user_ids],
    )
    return {int(row["user_id"]): Activity(row["message_count"], row["first_seen"], row["promoted"]) for row in rows}


async def claim_promotion(pool: asyncpg.Pool, guild_id: int, user_id: int, joined_at: dt.datetime | None) -> bool:
    """Atomically take the right to promote this member: True for exactly one caller, however many race.
    A member without a row (joined, never posted) gets one, already claimed."""
    row = await pool.fetchrow(
        """
        INSERT INTO member_activity AS a (guild_id, user_id, first_seen, promoted, promotion_claimed_at)
        VALUES ($1, $2, COALESCE($3, now()), TRUE, now())
        ON CONFLICT (guild_id, user_id) DO UPDATE SET promoted = TRUE, promotion_claimed_at = now()
            WHERE NOT a.promoted OR a.promotion_claimed_at < now() - make_interval(secs => $4)
        RETURNING 1
        """,
        str(guild_id), str(user_id), joined_at, STALE_CLAIM_SECONDS,
    )
    return row is not None


async def finish_promotion(pool: asyncpg.Pool, guild_id: int, user_id: int) -> None:
    await pool.execute(
        "UPDATE member_activity SET promotion_claimed_at = NULL WHERE guild_id = $1 AND user_id = $2",
        str(guild_id), str(user_id),
    )


async def release_promotion(pool: asyncpg.Pool, guild_id: int, user_id: int) -> None:
    """Discord refused after the claim: the member is not promoted, and the next attempt may claim again."""
    await pool.execute(
        "UPDATE member_activity SET promoted = FALSE, promotion_claimed_at = NULL "
        "WHERE guild_id = $1 AND user_id = $2 AND promotion_claimed_at IS NOT NULL",
        str(guild_id), str(user_id),
    )
