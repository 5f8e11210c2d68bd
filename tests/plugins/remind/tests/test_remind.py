"""The `remind` feature of docs/writing-features.md, on the harness: a command, a setting, a table, a job.

It runs from its own folder (not installed in the test environment): `remind_installed` puts it on sys.path and
registers it as its entry point would. No test sleeps: the instance's clock is moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import FeatureHarness, config_for
from tests.support.harness import extra_features

PLUGIN = Path(__file__).resolve().parents[1]
REMIND_ON = 'command_root = ""\n[features]\nremind = true\nmoderation = false\nstocks = false\nai_chat = false\n'


@pytest.fixture
def remind_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(PLUGIN))
    with extra_features("remind_feature"):
        yield


async def test_a_reminder_is_posted_when_its_time_comes(harness_factory, remind_installed) -> None:
    h: FeatureHarness = await harness_factory(config_extra=REMIND_ON)
    alice = h.add_member("alice")

    assert await h.say(alice, "!remind 10m stretch") == "I'll remind you in 10m."
    assert await h.say(alice, "!reminders") == "in 10m: stretch"
    await h.advance(9 * 60)
    assert await h.say(alice, "!reminders") == "in 1m: stretch"  # not posted yet

    await h.advance(61)
    posted = await h.emu.wait_for_bot_message(lambda m: "reminder: stretch" in m.content, bot=h.bot_user)
    assert posted.content == f"<@{alice.id}> reminder: stretch" and posted.channel_id == h.channel.id
    assert await h.say(alice, "!reminders") == "No reminders waiting."
    [row] = await h.fetch("SELECT delivered_at IS NOT NULL AS delivered FROM remind_reminders")
    assert row["delivered"] is True


async def test_max_pending_is_a_live_setting(harness_factory, remind_installed) -> None:
    h: FeatureHarness = await harness_factory(config_extra=REMIND_ON + "[remind]\nmax_pending = 1\n")
    bob = h.add_member("bob")
    assert await h.say(bob, "!remind 1h a") == "I'll remind you in 1h."
    assert await h.say(bob, "!remind 1h b") == "You already have 1 reminders waiting."
    assert await h.edit_config(config_for(h.name, "!", REMIND_ON + "[remind]\nmax_pending = 2\n")) == "applied live"
    assert await h.say(bob, "!remind 1h b") == "I'll remind you in 1h."


async def test_switching_remind_on_live_creates_its_table_first_recorded_as_its_own(harness_factory,
                                                                                     remind_installed) -> None:
    off = REMIND_ON.replace("remind = true", "remind = false")
    h: FeatureHarness = await harness_factory(config_extra=off)
    [row] = await h.fetch("SELECT to_regclass('remind_reminders') AS t")
    assert row["t"] is None
    sqlx_before = await h.fetch("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")

    assert await h.edit_config(config_for(h.name, "!", REMIND_ON)) == "applied live"

    carol = h.add_member("carol")
    assert await h.say(carol, "!remind 5m tea") == "I'll remind you in 5m."  # its table is there
    [row] = await h.fetch("SELECT owner, success FROM _supervisor_migrations WHERE version = 20261207000000")
    assert (row["owner"], row["success"]) == ("remind", True)
    # discord-bot-rs's own bookkeeping does not change: sqlx still sees exactly its two migrations.
    assert await h.fetch("SELECT version, checksum FROM _sqlx_migrations ORDER BY version") == sqlx_before
    assert [r["version"] for r in sqlx_before] == [20260414000000, 20260414000001]
