"""Discord unreachable is waited for, forever; what no retry can fix fails at once with what to do."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import pytest

from supervisor.daemon.status import State
from supervisor.emulator import Emulator
from tests.support import event, eventually

PARKED = event("instance_failed")  # logged as the runner parks until an edit or a restart


async def test_discord_unreachable_at_start_is_waited_for_then_runs(emu: Emulator, harness_factory: Any) -> None:
    port = urlsplit(emu.base_url).port
    await emu.stop()  # the network is not up yet: nothing listens where Discord should be
    h = await harness_factory(wait=False)
    seen: set[State] = set()

    def retried_twice() -> bool:  # watching every state on the way
        seen.add(h.runner.status.state)
        return h.runner.status.restarts >= 2

    await eventually(retried_twice, timeout=30)
    assert State.FAILED not in seen and State.BACKOFF in seen
    shown = h.status()
    assert str(shown["last_error"]).startswith("waiting for Discord: cannot connect to 127.0.0.1")
    assert "next try at" in str(shown["last_error"])
    assert shown["restarts"] >= 2  # it kept trying
    await emu.start(port=port)
    await h.wait_running(timeout=30)
    assert "Pong" in await h.say(h.owner, "!ping")


@pytest.mark.parametrize("code", [4004, 4011])
async def test_permanent_gateway_closes_fail_after_one_try(emu: Emulator, harness_factory: Any, code: int) -> None:
    h = await harness_factory(wait=False)
    emu.application(h.token).identify_close_code = code
    # Generous: on a shared test server full of other clients' sessions the start first waits for a connection.
    await eventually(lambda: h.runner.status.state is State.FAILED, timeout=120)
    assert f"close {code}" in str(h.status()["last_error"])

    def logins() -> int:
        return sum(1 for r in emu.requests if r.token == h.token and r.path.endswith("/users/@me"))

    assert logins() == 1
    await h.wait_log(PARKED)  # parked: no timer runs, so no more tries
    assert logins() == 1 and h.runner.status.restarts == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the case needs root")
async def test_the_bundled_server_as_root_fails_at_once_saying_what_to_do(harness_factory: Any) -> None:
    h = await harness_factory(env={"DATABASE_URL": ""}, wait=False)  # no URL: the bundled server, as root
    await eventually(lambda: h.runner.status.state is State.FAILED, timeout=20)
    reason = str(h.status()["last_error"])
    assert "refuses to run as root" in reason and "restart the daemon" in reason
    await h.wait_log(PARKED)
    assert h.runner.status.state is State.FAILED and h.runner.status.restarts == 0
