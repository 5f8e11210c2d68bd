"""Auto-role end to end: the real runner in-process, unmodified discord.py, our emulator, a real Postgres."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import structlog

from features.auto_role.activity import ActivityCounter
from supervisor.emulator import Role
from supervisor.migrator import load_migrations, migrate
from tests.support import FeatureHarness, config_for, eventually

ROLE_ROUTE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
FOUR_DAYS_AGO = dt.datetime.now(dt.UTC) - dt.timedelta(days=4)
FEATURES = "[features]\nai_chat = false\n"  # these tests talk to no model


@pytest_asyncio.fixture
async def harness(harness_factory: Any) -> FeatureHarness:
    return await harness_factory(config_extra=FEATURES)


def auto_role_config(h: FeatureHarness, from_role: Role, to_role: Role | int, **fields: Any) -> str:
    to_id = to_role if isinstance(to_role, int) else to_role.id
    lines = [f'from_role = "{from_role.id}"', f'to_role = "{to_id}"']
    lines += [f"{key} = {_toml(value)}" for key, value in fields.items()]
    return config_for(h.name, extra=f"{FEATURES}auto_role = true\n\n[auto_role]\n" + "\n".join(lines) + "\n")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


async def enable(h: FeatureHarness, from_role: Role, to_role: Role | int, **fields: Any) -> Any:
    await eventually(lambda: h.bot.get_guild(h.guild.id).get_role(from_role.id) is not None)  # GUILD_ROLE_CREATE
    outcome = await h.edit_config(auto_role_config(h, from_role, to_role, **fields))
    assert outcome == "applied live", outcome
    cog = h.bot.get_cog("Auto-role")
    assert cog is not None
    return cog


def roles(h: FeatureHarness) -> tuple[Role, Role]:
    return (h.emu.create_role(h.guild, "newcomer", 0, position=1),
            h.emu.create_role(h.guild, "member", 0, position=2))


def auto_role_warnings(h: FeatureHarness) -> list[str]:
    return [text for key, text in h.status()["warnings"].items() if key.startswith("auto_role:")]


async def activity(h: FeatureHarness, guild_id: int, user_id: int) -> Any:
    rows = await h.fetch("SELECT message_count, promoted, promotion_claimed_at FROM member_activity "
                         "WHERE guild_id = $1 AND user_id = $2", str(guild_id), str(user_id))
    return rows[0] if rows else None


async def test_sixteen_concurrent_promotions_add_the_role_once(harness: FeatureHarness) -> None:
    h = harness
    newcomer, member = roles(h)
    cog = await enable(h, newcomer, member, min_messages=1000, scan_interval=3600)
    alice = h.add_member("alice", roles=[newcomer])
    await eventually(lambda: (g := h.bot.get_guild(h.guild.id)) is not None and g.get_member(alice.id) is not None)
    target = h.bot.get_guild(h.guild.id).get_member(alice.id)

    won = await asyncio.gather(*(cog.promoter.try_promote(target) for _ in range(16)))

    assert sum(won) == 1
    assert h.emu.count_requests("PUT", ROLE_ROUTE) == 1
    assert h.emu.member_roles(h.guild, alice) == [member.id]
    row = await activity(h, h.guild.id, alice.id)
    assert row["promoted"] is True and row["promotion_claimed_at"] is None


async def test_scan_promotes_by_age_alone_unless_require_all(harness: FeatureHarness) -> None:
    h = harness
    newcomer, member = roles(h)
    talker = h.add_member("talker", roles=[newcomer], joined_at=FOUR_DAYS_AGO)
    silent = h.add_member("silent", roles=[newcomer], joined_at=FOUR_DAYS_AGO)
    cog = await enable(h, newcomer, member, min_age="3d", min_messages=3, require_all=True, scan_interval=0.5)
    scan = cog._jobs[1]
    rounds = scan.rounds
    await eventually(lambda: scan.rounds >= rounds + 3)
    assert h.emu.member_roles(h.guild, talker) == [newcomer.id]
    assert h.emu.member_roles(h.guild, silent) == [newcomer.id]

    for n in range(2):
        await h.send(talker, f"hello {n}")
    await eventually(lambda: cog.counter.counted == 2)
    rounds = scan.rounds
    await eventually(lambda: scan.rounds >= rounds + 2)
    assert h.emu.member_roles(h.guild, talker) == [newcomer.id]  # 2 of 3 messages: not yet
    await h.send(talker, "and the third")
    await eventually(lambda: h.emu.member_roles(h.guild, talker) == [member.id])
    assert h.emu.member_roles(h.guild, silent) == [newcomer.id]

    cog = await enable(h, newcomer, member, min_age="3d", min_messages=3, require_all=False, scan_interval=0.5)
    await eventually(lambda: h.emu.member_roles(h.guild, silent) == [member.id])
    row = await activity(h, h.guild.id, silent.id)
    assert row["message_count"] == 0 and row["promoted"] is True
    [first_seen] = await h.fetch("SELECT first_seen FROM member_activity WHERE user_id = $1", str(silent.id))
    assert abs((first_seen["first_seen"] - FOUR_DAYS_AGO).total_seconds()) < 2  # the join time, not "now"


async def test_counts_are_exact_across_a_clean_restart_and_per_guild(harness: FeatureHarness) -> None:
    h = harness
    newcomer, member = roles(h)
    await enable(h, newcomer, member, min_messages=1000, scan_interval=3600)
    other = h.emu.create_guild("other guild", h.owner)
    other_channel = h.emu.create_channel(other, "general")
    h.emu.add_bot_to_guild(other, h.bot_user)
    talker = h.add_member("talker")
    h.emu.add_member(other, talker)
    await eventually(lambda: h.bot.get_guild(other.id) is not None)

    for n in range(5):
        await h.send(talker, f"here {n}")
    for n in range(3):
        await h.send(talker, f"there {n}", channel=other_channel)
    await eventually(lambda: h.bot.get_cog("Auto-role").counter.counted == 8)
    await h.restart_cleanly()  # nothing was flushed yet (10 s): the stop writes it

    assert (await activity(h, h.guild.id, talker.id))["message_count"] == 5
    assert (await activity(h, other.id, talker.id))["message_count"] == 3

    for n in range(2):
        await h.send(talker, f"again {n}")
    await eventually(lambda: h.bot.get_cog("Auto-role").counter.counted == 2)
    await h.runner.stop()
    assert (await activity(h, h.guild.id, talker.id))["message_count"] == 7
    assert (await activity(h, other.id, talker.id))["message_count"] == 3



async def test_switching_the_feature_off_live_writes_its_counts(harness: FeatureHarness) -> None:
    h = harness
    newcomer, member = roles(h)
    cog = await enable(h, newcomer, member, min_messages=1000, scan_interval=3600)
    talker = h.add_member("talker")
    for n in range(3):
        await h.send(talker, f"message {n}")
    await eventually(lambda: cog.counter.counted == 3)
    assert await activity(h, h.guild.id, talker.id) is None  # not flushed yet: 10 s have not passed
    assert await h.edit_config(config_for(h.name, extra=FEATURES)) == "applied live"
    assert h.bot.get_cog("Auto-role") is None
    assert (await activity(h, h.guild.id, talker.id))["message_count"] == 3

async def test_a_deleted_role_is_reported_released_and_a_fixed_role_promotes(harness: FeatureHarness) -> None:
    h = harness
    newcomer, member = roles(h)
    old = h.add_member("old", roles=[newcomer], joined_at=FOUR_DAYS_AGO)
    h.emu.ops.delete_role(h.emu.guild(h.guild), member)
    with structlog.testing.capture_logs() as logs:
        cog = await enable(h, newcomer, member, min_age="3d", scan_interval=0.5)
        scan = cog._jobs[1]
        await eventually(lambda: scan.rounds >= 3)
    problems = [e for e in logs if e["event"] == "auto_role_misconfigured"]
    assert len(problems) == 1, problems  # one line, not one per scan
    assert f"[auto_role].to_role {member.id} does not exist" in problems[0]["problem"]
    assert any("does not exist" in w for w in auto_role_warnings(h))
    assert h.runner.ctx is not None and not h.runner.ctx.crashed.done()
    row = await activity(h, h.guild.id, old.id)
    assert row["promoted"] is False and row["promotion_claimed_at"] is None
    assert h.emu.member_roles(h.guild, old) == [newcomer.id]

    fixed = h.emu.create_role(h.guild, "member again", 0, position=2)
    await enable(h, newcomer, fixed, min_age="3d", scan_interval=0.5)
    await eventually(lambda: h.emu.member_roles(h.guild, old) == [fixed.id])
    await eventually(lambda: not auto_role_warnings(h))


async def test_a_role_above_the_bot_is_a_permission_warning(harness: FeatureHarness) -> None:
    h = harness
    newcomer = h.emu.create_role(h.guild, "newcomer", 0, position=1)
    above = h.emu.create_role(h.guild, "staff", 0, position=20)  # the bot's own role is at 10
    old = h.add_member("old", roles=[newcomer], joined_at=FOUR_DAYS_AGO)
    cog = await enable(h, newcomer, above, min_age="3d", scan_interval=0.5)
    await eventually(lambda: cog._jobs[1].rounds >= 2)
    assert any("no permission to manage role" in w for w in auto_role_warnings(h))
    assert h.emu.member_roles(h.guild, old) == [newcomer.id]
    assert (await activity(h, h.guild.id, old.id))["promoted"] is False


async def test_settings_are_validated_with_clear_errors(harness: FeatureHarness) -> None:
    h = harness
    newcomer, member = roles(h)
    outcome = await h.edit_config(auto_role_config(h, newcomer, member, min_age="three days"))
    assert outcome.startswith("rejected:")
    assert "[auto_role].min_age" in outcome or "auto_role.min_age" in outcome
    assert "must be a duration" in outcome
    bad = config_for(h.name, extra=f'{FEATURES}auto_role = true\n\n[auto_role]\nfrom_role = "abc"\n')
    outcome = await h.edit_config(bad)
    assert "auto_role.from_role: must be a Discord ID" in outcome
    assert "auto_role.to_role: is required" in outcome


async def test_a_failed_flush_keeps_its_counts_for_the_next(database_url: str, schemas: list[str],
                                                            unique: Any) -> None:
    schema = unique("act_flush")
    schemas.append(schema)
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    pool = await asyncpg.create_pool(database_url, min_size=0, max_size=1,
                                     server_settings={"search_path": f'"{schema}"'})
    try:
        counter = ActivityCounter(pool)
        for _ in range(3):
            counter.record(1, 2, None)
        with pytest.raises(asyncpg.UndefinedTableError):  # the database refuses this flush
            await counter.flush()
        assert counter.pending(1, 2) == 3
        await migrate(database_url, schema, load_migrations())
        counter.record(1, 2, None)
        [row] = await counter.flush()
        assert row["message_count"] == 4 and counter.pending_total() == 0
    finally:
        await pool.close()
        await admin.close()
