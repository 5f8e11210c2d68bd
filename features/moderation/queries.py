"""This feature's SQL. Every query is scoped by guild_id inside the instance's own schema."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

_SETTING_KEYS = ("audit_log_channel_id", "dj_role_id", "dj_mode_enabled")


@dataclass(frozen=True)
class Tempban:
    id: int
    guild_id: int
    user_id: int
    moderator_id: int
    reason: str | None
    expires_at: dt.datetime


@dataclass(frozen=True)
class GuildSettings:
    audit_log_channel_id: int | None = None
    dj_role_id: int | None = None
    dj_mode_enabled: bool = False


def _tempban(row: asyncpg.Record) -> Tempban:
    return Tempban(row["id"], int(row["guild_id"]), int(row["user_id"]), int(row["moderator_id"]), row["reason"],
                   row["expires_at"])


def _readable(rows: list[asyncpg.Record]) -> tuple[list[Tempban], list[int]]:
    """Rows as tempbans, and the ids of rows whose IDs are not snowflakes (hand-edited or corrupt)."""
    bans, unreadable = [], []
    for row in rows:
        try:
            bans.append(_tempban(row))
        except ValueError:
            unreadable.append(row["id"])
    return bans, unreadable


async def create_tempban(pool: asyncpg.Pool, guild_id: int, user_id: int, moderator_id: int, reason: str | None,
                         seconds: int, now: dt.datetime) -> Tempban:
    """`now` is the feature's clock (ctx.clock.utcnow()), so expiries follow the clock tests move."""
    row = await pool.fetchrow(
        "INSERT INTO tempbans (guild_id, user_id, moderator_id, reason, expires_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING *",
        str(guild_id), str(user_id), str(moderator_id), reason, now + dt.timedelta(seconds=seconds),
    )
    return _tempban(row)


async def delete_tempban(pool: asyncpg.Pool, tempban_id: int) -> None:
    await pool.execute("DELETE FROM tempbans WHERE id = $1", tempban_id)


async def close_other_tempbans(pool: asyncpg.Pool, guild_id: int, user_id: int, keep_id: int | None) -> int:
    """A newer ban (temp or permanent) replaces older pending tempbans, so no old sweep lifts it early."""
    result = await pool.execute(
        "UPDATE tempbans SET unbanned = TRUE WHERE guild_id = $1 AND user_id = $2 AND unbanned = FALSE "
        "AND id IS DISTINCT FROM $3", str(guild_id), str(user_id), keep_id,
    )
    return int(result.split()[-1])


async def mark_unbanned(pool: asyncpg.Pool, guild_id: int, user_id: int) -> bool:
    result = await pool.execute(
        "UPDATE tempbans SET unbanned = TRUE WHERE guild_id = $1 AND user_id = $2 AND unbanned = FALSE",
        str(guild_id), str(user_id),
    )
    return result != "UPDATE 0"


async def mark_lifted(pool: asyncpg.Pool, tempban_id: int) -> bool:
    """True only for the caller that actually closed the row."""
    result = await pool.execute("UPDATE tempbans SET unbanned = TRUE WHERE id = $1 AND unbanned = FALSE", tempban_id)
    return result == "UPDATE 1"


async def is_pending(pool: asyncpg.Pool, tempban_id: int) -> bool:
    return bool(await pool.fetchval("SELECT NOT unbanned FROM tempbans WHERE id = $1", tempban_id))


async def pending_tempbans(pool: asyncpg.Pool, guild_id: int) -> list[Tempban]:
    """Every tempban still in force, including expired ones whose unban has not gone through yet."""
    rows = await pool.fetch(
        "SELECT * FROM tempbans WHERE guild_id = $1 AND unbanned = FALSE ORDER BY expires_at, id", str(guild_id),
    )
    return _readable(rows)[0]


async def expired_tempbans(pool: asyncpg.Pool, now: dt.datetime) -> tuple[list[Tempban], list[int]]:
    """Every guild's (the schema belongs to this instance alone), and the ids of rows that cannot be read."""
    rows = await pool.fetch("SELECT * FROM tempbans WHERE unbanned = FALSE AND expires_at <= $1 ORDER BY expires_at",
                            now)
    return _readable(rows)


async def seconds_to_next_expiry(pool: asyncpg.Pool, now: dt.datetime) -> float | None:
    """Seconds from `now` until the next pending tempban expires, or None when none is waiting."""
    value = await pool.fetchval(
        "SELECT extract(epoch FROM min(expires_at) - $1)::float8 FROM tempbans "
        "WHERE unbanned = FALSE AND expires_at > $1", now,
    )
    return None if value is None else float(value)


async def guild_settings(pool: asyncpg.Pool, guild_id: int) -> GuildSettings:
    row = await pool.fetchrow("SELECT * FROM guild_settings WHERE guild_id = $1", str(guild_id))
    if row is None:
        return GuildSettings()

    def snowflake(value: str | None) -> int | None:
        return int(value) if value and value.isdigit() else None

    return GuildSettings(snowflake(row["audit_log_channel_id"]), snowflake(row["dj_role_id"]), row["dj_mode_enabled"])


async def set_guild_setting(pool: asyncpg.Pool, guild_id: int, key: str, value: str | bool | None) -> None:
    if key not in _SETTING_KEYS:  # the column name is interpolated: only these three may ever reach SQL
        raise ValueError(f"invalid setting key {key!r}")
    await pool.execute(
        f"INSERT INTO guild_settings (guild_id, {key}) VALUES ($1, $2) "
        f"ON CONFLICT (guild_id) DO UPDATE SET {key} = EXCLUDED.{key}",
        str(guild_id), value,
    )
