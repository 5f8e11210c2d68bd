"""The tempban sweeper sleeps until the next expiry: an idle instance leaves Postgres alone, a tempban is lifted
when it expires (not at the next safety sweep, 10 minutes away by default). The instance's clock is moved, never
waited for."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.support import eventually
from tests.support.harness import FeatureHarness

SAFETY_SWEEP_SECONDS = 600.0  # moderation's default sweep_interval
MARGIN_SECONDS = 10.0


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
    first_sweep = h.clock.monotonic()  # at the latest
    await eventually(lambda: _no_connections(database_url, h.schema), timeout=90)
    reads = await _tempban_reads(database_url, h.schema)

    # Idle until just before the next safety sweep (600 s after the first, which ran at the start), on its clock.
    await h.advance(SAFETY_SWEEP_SECONDS - (h.clock.monotonic() - first_sweep) - MARGIN_SECONDS)
    assert await _connections_held(database_url, h.schema) == 0
    assert await _tempban_reads(database_url, h.schema) == reads, "an idle instance queried its tempbans"

    target = h.add_member("target")
    reply = await h.say(h.owner, f"!ban <@{target.id}> 2s")
    assert reply.startswith(f"Banned **{target.username}** for **2s**"), reply
    assert target.id in h.emu.bans(h.guild.id)
    [row] = await h.fetch("SELECT expires_at FROM tempbans")
    assert row["expires_at"] > h.clock.utcnow()
    await h.advance(1.0)
    assert target.id in h.emu.bans(h.guild.id)  # not yet due: the timer sleeps until the expiry
    await h.advance(1.5)  # past the expiry, far short of the next safety sweep: only the expiry timer lifts it
    await eventually(lambda: target.id not in h.emu.bans(h.guild.id), timeout=10)
    [row] = await h.fetch("SELECT unbanned FROM tempbans")
    assert row["unbanned"] is True


async def _no_connections(database_url: str, schema: str) -> bool:
    return await _connections_held(database_url, schema) == 0


async def _connections_held_now(database_url: str, schema: str) -> bool:
    return await _connections_held(database_url, schema) > 0
