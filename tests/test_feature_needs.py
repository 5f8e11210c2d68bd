"""A feature that cannot work (stocks, on by default, with no FINNHUB_API_KEY) is named by `check` and `status`, not
only by `status --json`."""

from __future__ import annotations

import io
from typing import Any

from supervisor.commands.control_client import render_status
from tests.support import GOOD_ENV, InstanceFolders, config_text, run_check

MISSING = "FINNHUB_API_KEY: is not set: stock commands answer that trading is not configured"


def test_check_warns_about_a_feature_whose_key_is_missing(instances: InstanceFolders) -> None:
    without_key = {key: value for key, value in GOOD_ENV.items() if key != "FINNHUB_API_KEY"}
    instances.make("nokey", env={**without_key, "DB_SCHEMA": "nokey"})
    instances.make("withkey", env={**without_key, "DISCORD_TOKEN": "t2", "DB_SCHEMA": "withkey",
                                    "FINNHUB_API_KEY": "k"})
    instances.make("off", config=config_text("off", extra='command_root = ""\n[features]\nstocks = false\n'),
                   env={**without_key, "DISCORD_TOKEN": "t3", "DB_SCHEMA": "off"})
    code, output = run_check(instances.root)
    assert code == 0, output  # a warning: the instance still runs
    assert f"warning: nokey/.env: {MISSING}" in output, output
    assert output.count("FINNHUB_API_KEY") == 1, output  # not for the one with a key, nor the one with stocks off


async def test_status_shows_the_warning_in_its_table(harness_factory: Any) -> None:
    h = await harness_factory(config_extra='command_root = ""\n')  # stocks on by default, no key in .env
    out = io.StringIO()
    render_status([h.status()], out)
    [row] = out.getvalue().splitlines()[1:]
    assert row.startswith(h.name) and "warning: FINNHUB_API_KEY is not set in .env" in row, out.getvalue()
