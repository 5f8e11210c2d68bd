"""Bans the bot did not make are respected: a person's unban and re-ban are never undone by an old tempban."""

from __future__ import annotations

from typing import Any

import asyncpg

from supervisor.runtime.errors import DATABASE_DOWN
from tests.support import eventually, scratch_server

FAST_SWEEP = "[moderation]\nsweep_interval = 0.5\n"


async def test_a_persons_unban_and_reban_are_never_undone(harness_factory: Any) -> None:
    h = await harness_factory(config_extra=FAST_SWEEP)
    target = h.add_member("target")
    assert (await h.say(h.owner, f"!ban <@{target.id}> 2s")).startswith("Banned")
    h.emu.unban(h.guild, target, h.owner, "forgiven in Discord's own UI")
    h.emu.ops.ban(h.guild, target.id, h.owner.id, "banned again by hand, for good")
    await eventually(lambda: _closed(h), timeout=10)  # the unban event closed the tempban
    # A later tempban lifted proves a sweep ran after the old row's expiry.
    later = h.add_member("later")
    assert (await h.say(h.owner, f"!ban <@{later.id}> 3s")).startswith("Banned")
    await eventually(lambda: later.id not in h.emu.bans(h.guild), timeout=20)
    assert h.emu.bans(h.guild)[target.id] == "banned again by hand, for good"


async def _closed(h: Any) -> bool:
    return all(row["unbanned"] for row in await h.fetch("SELECT unbanned FROM tempbans"))


async def test_an_old_row_whose_unban_was_missed_never_lifts_a_newer_ban(harness_factory: Any) -> None:
    h = await harness_factory(config_extra=FAST_SWEEP)
    target = h.add_member("target")
    h.emu.ops.ban(h.guild, target.id, h.owner.id, "a person's ban")
    # A tempban row left pending while its unban happened unseen (the bot was down), now expired.
    await h.fetch("INSERT INTO tempbans (guild_id, user_id, moderator_id, expires_at) "
                  "VALUES ($1, $2, $3, now() - interval '1 minute')", str(h.guild.id), str(target.id),
                  str(h.owner.id))
    await eventually(lambda: _closed(h), timeout=10)
    assert h.emu.bans(h.guild)[target.id] == "a person's ban"
    assert h.emu.audit_reasons(h.guild, "member_ban_remove") == []
    # The log says what happened to the row, once: left in place, never also "lifted".
    closings = ("tempban_lifted", "tempban_left_newer_ban", "tempban_already_unbanned")
    said = [e["event"] for e in h.log_events(lambda e: e.get("event") in closings)]
    assert said == ["tempban_left_newer_ban"], said


async def test_unban_with_the_database_down_leaves_discord_and_rows_consistent(harness_factory: Any) -> None:
    async with scratch_server() as server:
        h = await harness_factory(env={"DATABASE_URL": server.url}, config_extra=FAST_SWEEP)
        target = h.add_member("target")
        assert (await h.say(h.owner, f"!ban <@{target.id}> 1h")).startswith("Banned")
        assert await server.stop()
        assert await h.say(h.owner, f"!unban <@{target.id}>") == DATABASE_DOWN
        assert target.id in h.emu.bans(h.guild)  # nothing done in Discord either
        url = await server.start()
        connection = await asyncpg.connect(url, server_settings={"search_path": h.schema})
        try:
            [row] = await connection.fetch("SELECT unbanned FROM tempbans")
            assert row["unbanned"] is False  # still banned, still pending: they agree

            async def unbanned() -> bool:
                return (await h.say(h.owner, f"!unban <@{target.id}>")).startswith("Unbanned")

            await eventually(unbanned, timeout=30)
            assert target.id not in h.emu.bans(h.guild)
            [row] = await connection.fetch("SELECT unbanned FROM tempbans")
            assert row["unbanned"] is True
        finally:
            await connection.close()
