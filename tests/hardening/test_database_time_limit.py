"""A frozen (not down) Postgres: commands answer "database unavailable" within the time limit, then recover."""

from __future__ import annotations

import asyncio
from typing import Any

from structlog.testing import capture_logs

from supervisor.runtime.errors import DATABASE_DOWN
from tests.support import eventually, frozen, scratch_server

FROZEN_SECONDS = 4.0  # stands for the 30 s of the case: longer than the limit, the logic is the same


async def test_a_frozen_database_gets_a_clear_answer_and_recovery_needs_nothing(harness_factory: Any) -> None:
    async with scratch_server() as server:
        h = await harness_factory(env={"DATABASE_URL": server.url},
                                  config_extra="[database]\ncommand_timeout = 1.0\n")
        assert await h.say(h.owner, "!banlist") == "No active tempbans."
        with frozen(server), capture_logs() as logs:
            started = asyncio.get_running_loop().time()
            assert await h.say(h.owner, "!banlist") == DATABASE_DOWN
            await asyncio.sleep(max(0.0, FROZEN_SECONDS - (asyncio.get_running_loop().time() - started)))
        [failed] = [e for e in logs if e["event"].startswith("command_failed")]
        assert failed["log_level"] == "warning" and failed["command"] == "banlist" and "exc_info" not in failed
        assert "command_timeout" in failed["reason"]

        async def answers_again() -> bool:
            return await h.say(h.owner, "!banlist") == "No active tempbans."

        await eventually(answers_again, timeout=30)
        assert h.status()["state"] == "running"
