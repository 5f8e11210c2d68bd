"""The tempban sweeper sleeps until the next expiry: an idle instance leaves Postgres alone, a tempban is lifted
when it expires (not at the next safety sweep, 10 minutes away by default)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg

from tests.support import eventually
from tests.support.harness import FeatureHarness

IDLE_SECONDS = 60.0
# Lifted within a second of expiring on a quiet machine; the deadline allows for a loaded one and is still far
# shorter than the safety sweep (600 s), so only the expiry timer can meet it.
LIFT_DEADLINE_SECONDS = 5.0


async def _tempban_reads(database_url: str, schema: str) -> int:
    """How often the tempbans table was read (sequential + index scans): every sweep query reads it."""
    connection = await asyncpg.connect(database_url)
    try:
        value = await connection.fetchval(
            "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
            "WHERE schemaname = $1 AND relname = 'tempbans'", schema)
        return int(value or 0)
    finally:
        await connection.close()


async def _connections_held(database_url: str, schema: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            f"discord-supervisor:{schema}"[:63]))
    finally:
        await connection.close()


async def test_idle_instance_runs_no_sweep_query_and_a_tempban_is_lifted_at_expiry(harness_factory: Any,
                                                                                   database_url: str) -> None:
    h: FeatureHarness = await harness_factory()  # default features: moderation on, default safety sweep
    # The sweep right after start opens the pool's connection, which is closed once idle (stats flushed then).
    await eventually(lambda: _connections_held_now(database_url, h.schema), timeout=60)
    await eventually(lambda: _no_connections(database_url, h.schema), timeout=90)
    reads = await _tempban_reads(database_url, h.schema)

    await asyncio.sleep(IDLE_SECONDS)
    assert await _connections_held(database_url, h.schema) == 0
    assert await _tempban_reads(database_url, h.schema) == reads, "an idle instance queried its tempbans"

    target = h.add_member("target")
    reply = await h.say(h.owner, f"!ban <@{target.id}> 2s")
    assert reply.startswith(f"Banned **{target.username}** for **2s**"), reply
    assert target.id in h.emu.bans(h.guild.id)
    [row] = await h.fetch("SELECT expires_at FROM tempbans")
    expires_in = (row["expires_at"] - dt.datetime.now(dt.UTC)).total_seconds()
    await eventually(lambda: target.id not in h.emu.bans(h.guild.id), timeout=expires_in + LIFT_DEADLINE_SECONDS)
    [row] = await h.fetch("SELECT unbanned FROM tempbans")
    assert row["unbanned"] is True


async def _no_connections(database_url: str, schema: str) -> bool:
    return await _connections_held(database_url, schema) == 0


async def _connections_held_now(database_url: str, schema: str) -> bool:
    return await _connections_held(database_url, schema) > 0
