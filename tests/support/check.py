"""`discord-supervisor check` run in-process over a folder of instances, with a valid .env to start from."""

from __future__ import annotations

import io
from pathlib import Path

from supervisor.commands import check
from supervisor.settings import SupervisorSettings

# With a Finnhub key: stocks is on by default, and `check` warns (rightly) when its key is missing.
GOOD_ENV = {"DISCORD_TOKEN": "token-one", "GUILD_ID": "123456789012345678", "FINNHUB_API_KEY": "finnhub-key"}


def run_check(root: Path) -> tuple[int, str]:
    out = io.StringIO()
    settings = SupervisorSettings(instances_dir=root, database_url="postgresql://localhost/x")
    code = check.run(settings, as_json=False, out=out)
    return code, out.getvalue()
