"""`discord-supervisor features`: generated from the declarations, and docs/features.md never drifts from it."""

from __future__ import annotations

import json

import pytest

from supervisor.commands import features
from tests.support import REPO, run_cli_async

pytestmark = pytest.mark.e2e  # the command line as a separate process


async def test_features_lists_every_feature_with_its_settings() -> None:
    code, out, _ = await run_cli_async("features", "--json")
    assert code == 0
    listed = {f["name"]: f for f in json.loads(out)["features"]}
    assert listed["core"]["default"] == "always on"
    moderation = listed["moderation"]
    assert moderation["default"] == "on" and "tempbans" in moderation["summary"]
    assert moderation["settings"] == [{
        "key": "sweep_interval", "type": "number", "default": 600.0, "required": False,
        "doc": "seconds between safety sweeps for expired tempbans; each tempban is lifted when it expires anyway"}]
    code, text, _ = await run_cli_async("features")
    assert code == 0
    assert "| `moderation` | on | tempbans, kicks, timeouts, nuke and the audit log |" in text
    assert ("| `sweep_interval` | number | `600.0` | seconds between safety sweeps for expired tempbans; each tempban "
            "is lifted when it expires anyway |") in text


async def test_docs_features_md_matches_the_command() -> None:
    code, out, _ = await run_cli_async("features")
    assert code == 0
    documented = features.generated_section((REPO / "docs" / "features.md").read_text(encoding="utf-8"))
    assert documented == out, (
        "docs/features.md is out of date: run `python -m supervisor.commands.features docs/features.md`"
    )
