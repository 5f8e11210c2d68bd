"""Every feature switches on, runs each periodic job once, and switches off cleanly with its table removed.

Switching off must be as solid as switching on: after the edit that switches a feature off (and drops its
`[table]`, which changes its intervals back to their defaults), every task the feature started is done, and no job
of it runs again however far the clock moves.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from supervisor import registry
from supervisor.sdk.feature import Feature
from supervisor.settings_schema import Setting, snowflake
from tests.support import FeatureHarness, config_for, eventually

FEATURES = sorted(registry.features())


def _table(h: FeatureHarness, feature: Feature) -> str:
    """A `[table]` that lets `feature` load here: required IDs of this guild, intervals off their defaults."""
    lines = []
    for key, setting in feature.settings.items():
        value = _value(h, key, setting)
        if value is not None:
            lines.append(f"{key} = {value}")
    if not lines and feature.validate is None:
        return ""
    return f"[{feature.table_name}]\n" + "\n".join(lines) + "\n"  # a nested table's defaults (e.g. minecraft)


def _value(h: FeatureHarness, key: str, setting: Setting) -> str | None:
    if setting.required and setting.rule is snowflake:
        target = h.channel.id  # #general, or a role below the bot's
        if "role" in key:
            target = h.emu.create_role(h.guild, f"lifecycle-{key}", 0, position=1).id
        return f'"{target}"'
    if "interval" in key and setting.kind is float:
        return repr(float(setting.default) / 2)  # a live edit back to the default wakes the job: the old bug
    return None


def _switch(h: FeatureHarness, name: str, on: bool, table: str = "") -> str:
    switches = "".join(f"{other} = {str(other == name and on).lower()}\n" for other in FEATURES)
    return config_for(h.name, "!", f'command_root = ""\n[features]\n{switches}\n{table}')


@pytest.mark.parametrize("name", FEATURES)
async def test_feature_switches_on_runs_its_jobs_and_switches_off_leaving_no_task(harness_factory, name) -> None:
    h = await harness_factory(config=None, config_extra='command_root = ""\n[features]\n' + "".join(
        f"{other} = false\n" for other in FEATURES))
    feature = registry.features()[name]
    before = h.bot
    outcome = await h.edit_config(_switch(h, name, True, _table(h, feature)))
    if outcome.startswith("restarted: a newly enabled feature needs the gateway intent"):
        # A new gateway session with its intents: the restart switches it on.
        await eventually(lambda: h.runner.ctx is not None and h.runner.ctx.bot is not before, timeout=15)
        await h.wait_running()
    else:
        assert outcome == "applied live", outcome
    ctx: Any = h.bot.feature_context(name)
    assert ctx is not None

    for job in ctx.jobs:  # each periodic job runs once: move the clock past its first delay and interval
        await eventually(lambda job=job: job.rounds + job.failures >= 1 or _advance(h), timeout=15)
    started = set(ctx.tasks) | {job.task for job in ctx.jobs}
    rounds = {job.name: job.rounds for job in ctx.jobs}

    outcome = await h.edit_config(_switch(h, name, False))

    assert outcome == "applied live", outcome
    assert h.bot.feature_context(name) is None
    running = sorted(task.get_name() for task in started if not task.done())
    assert not running, f"{name}: still running after it was switched off: {running}"
    await h.advance(7 * 86400)  # a week later, no job of the switched-off feature has run again
    assert {job.name: job.rounds for job in ctx.jobs} == rounds
    assert not [key for key in h.status().get("warnings") or {} if key.startswith(f"{name}:")]
    assert (await h.say(h.owner, "!ping")).startswith("Pong!")


def _advance(h: FeatureHarness) -> bool:
    """Schedule a clock move (eventually polls again afterwards); never satisfies the condition itself."""
    asyncio.get_running_loop().create_task(h.advance(60))
    return False


async def test_a_task_that_survives_switching_off_is_logged_and_shown_in_status(harness_factory, test_features) -> None:
    from tests.fixture_features.stubborn import cog as stubborn

    stubborn.release.clear()
    h = await harness_factory(config_extra='command_root = ""\n[features]\nstubborn = true\n')
    holdout = next(iter(h.bot.feature_context("stubborn").tasks))
    switching_off = asyncio.create_task(h.edit_config(config_for(h.name, "!", 'command_root = ""\n')))
    await eventually(lambda: switching_off.done() or _advance(h), timeout=15)  # past the 5 s deadline
    assert await switching_off == "applied live"
    survivor = await h.wait_log(lambda e: e.get("event") == "feature_tasks_survived_withdraw")
    assert survivor["feature"] == "stubborn" and survivor["tasks"] == [holdout.get_name()]
    assert h.status()["warnings"]["stubborn:withdraw"] == \
        f"switched off, but still running after 5 s: {holdout.get_name()}"

    stubborn.release.set()  # it ends at last: the warning goes
    await eventually(lambda: holdout.done() and "stubborn:withdraw" not in (h.status()["warnings"] or {}))
