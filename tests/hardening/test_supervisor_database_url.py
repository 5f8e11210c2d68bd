"""A bad DATABASE_URL in the supervisor's own environment: failed at once, saying no instance file can fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, run_cli_async, with_database

pytestmark = pytest.mark.e2e  # the daemon and the command line as processes


async def test_the_supervisors_bad_database_url_points_at_its_environment(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, unique) -> None:
    add_bot(emu, instances, "orphan", prefix="!", schema=unique("sup_url"), database_url="")  # no URL of its own
    missing = with_database(database_url, unique("no_such_db"))
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           database_url=missing)
    await daemon.start()
    try:
        failed = await daemon.wait_log(lambda e: e.get("event") == "instance_failed")
        assert "fix the supervisor's own DATABASE_URL" in failed["reason"]
        assert "restart the daemon" in failed["reason"]
        code, out, _ = await run_cli_async("status", "--json", "--control-socket", str(daemon.control_socket))
        [shown] = json.loads(out)
        assert code == 0 and shown["state"] == "failed" and shown["restarts"] == 0
    finally:
        assert await daemon.stop() == 0
