"""Live config edits: all or nothing, restarts for what cannot apply live, and edits during a start."""

from __future__ import annotations

import pytest

from supervisor.emulator import P, User
from tests.support import FeatureHarness, config_for, eventually


async def ignored(h: FeatureHarness, member: User, text: str, then: str) -> str:
    """Send `text`, then `then`; return the answer to `then` after checking `text` got none (same order)."""
    unanswered = await h.send(member, text)
    answer = await h.say(member, then)
    assert not [m for m in h.emu.bot_messages if m.reference_id == unanswered.id], f"{text!r} was answered"
    return answer


@pytest.mark.parametrize("fail_in", ["init", "cog_load"])
async def test_feature_failing_to_load_rolls_the_whole_edit_back(harness_factory, test_features, fail_in) -> None:
    h = await harness_factory()
    member = h.add_member("alice", permissions=int(P.BAN_MEMBERS))
    assert await h.say(member, "!banlist") == "No active tempbans."
    tables = f'[features]\nmoderation = false\nfaulty = true\n\n[faulty]\nfail_in = "{fail_in}"\n'
    broken = config_for(h.name, "?", tables)

    outcome = await h.edit_config(broken)

    refusal = "faulty refuses to build" if fail_in == "init" else "faulty refuses to load"
    reason = f"feature 'faulty' did not load: RuntimeError: {refusal}"
    assert outcome == f"rejected: {reason}"
    status = h.status()
    assert status["state"] == "running" and status["rejected"] == reason and status["last_reload"] == outcome
    # The old Cogs and the old prefix keep answering; nothing of the edit took hold.
    assert await ignored(h, member, "?ping", then="!banlist") == "No active tempbans."
    assert (await ignored(h, member, "!faulty", then="!ping")).startswith("Pong!")
    assert not [t for t in h.ctx._tasks if "faulty" in t.get_name()]  # the job its __init__ started is stopped

    # The next good edit applies: new prefix, faulty on, moderation off.
    outcome = await h.edit_config(broken.replace(f'fail_in = "{fail_in}"', 'fail_in = "nowhere"'))
    assert outcome == "applied live"
    assert await ignored(h, member, "!ping", then="?faulty") == "faulty here"
    assert (await ignored(h, member, "?banlist", then="?ping")).startswith("Pong!")
    assert h.status()["rejected"] is None and h.status()["last_reload"] == "applied live"


async def test_pool_max_size_edit_restarts_that_instance_alone(harness_factory) -> None:
    a = await harness_factory(name="a")
    b = await harness_factory(name="b")
    emu = a.emu
    assert a.ctx.pool.get_max_size() == 2
    sessions_of_b = (emu.identify_count(b.token), emu.resume_count(b.token))
    identifies_of_a = emu.identify_count(a.token)

    outcome = await a.edit_config(config_for(a.name, "!", "[database]\npool_max_size = 5\n"))

    assert outcome == "restarted: [database] pool_max_size changed"
    assert a.status()["last_reload"] == outcome
    await eventually(lambda: emu.identify_count(a.token) == identifies_of_a + 1)
    await a.wait_running()
    assert a.ctx.pool.get_max_size() == 5
    member = a.add_member("alice")
    assert (await a.say(member, "!ping")).startswith("Pong!")
    assert (emu.identify_count(b.token), emu.resume_count(b.token)) == sessions_of_b
    assert (await b.say(b.add_member("bob"), "!ping")).startswith("Pong!")


async def test_edit_made_while_waiting_for_guilds_applies_before_ready(harness_factory) -> None:
    h = await harness_factory(wait=False, guild_ready_timeout=120)
    slow = h.emu.create_guild("slow guild", h.owner)  # in READY as unavailable; its GUILD_CREATE is held back
    h.emu.add_bot_to_guild(slow, h.bot_user)
    h.emu.withhold_guild(slow)
    member = h.add_member("alice")
    await eventually(lambda: h.runner.ctx is not None and h.runner.ctx.bot is not None
                     and h.runner.ctx.bot.get_guild(h.guild.id) is not None, timeout=30)
    assert (await h.say(member, "!ping")).startswith("Pong!")
    assert h.status()["state"] == "starting" and not h.bot.is_ready()

    outcome = await h.edit_config(config_for(h.name, "$"))

    assert outcome == "applied live"
    assert (await ignored(h, member, "!ping", then="$ping")).startswith("Pong!")
    # All of it before the bot is ready: discord.py still waits guild_ready_timeout for the slow guild.
    assert h.status()["state"] == "starting" and not h.bot.is_ready()
