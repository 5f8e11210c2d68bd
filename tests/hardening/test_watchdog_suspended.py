"""A suspended daemon (SIGSTOP then SIGCONT, as a VM pause) is not a stalled loop: one `process_suspended` line, and
no stall blamed on an instance; and an instance is blamed only for the part of a stall that was its own."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from supervisor.daemon.watchdog import LoopWatchdog
from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, reply_to

SUSPENDED_SECONDS = 2.0  # stands for the 30 s of a VM pause: well over the 250 ms stall threshold


@pytest.mark.e2e  # signals to a daemon process
async def test_a_suspended_process_is_reported_as_such_and_blames_no_instance(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    instances = InstanceFolders(tmp_path / "instances")
    bot = add_bot(emu, instances, "paused", prefix="!", schema=unique("paused"), database_url=database_url,
                  config_extra='command_root = ""\n')
    schemas.append(bot.schema)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
    await daemon.start()
    try:
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready")
        assert daemon.process is not None
        start = len(daemon.logs)
        daemon.process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(SUSPENDED_SECONDS)  # the suspension itself, not a wait for a timer
        finally:
            daemon.process.send_signal(signal.SIGCONT)
        suspended = await daemon.wait_log(lambda e: e.get("event") == "process_suspended", start=start)
        assert suspended["level"] == "warning" and suspended["suspended_ms"] >= SUSPENDED_SECONDS * 1000 * 0.8
        assert (await reply_to(emu, bot, "!ping")).startswith("Pong")
        stalls = [e for e in daemon.logs[start:] if "stalled" in str(e.get("event"))]
        assert not [e for e in stalls if e.get("instance")], stalls
        assert not [e for e in stalls if e.get("stalled_ms", 0) >= SUSPENDED_SECONDS * 1000 * 0.8], stalls
    finally:
        assert await daemon.stop() == 0


@pytest.mark.parametrize(("late", "gc_seconds", "suspended", "blamed", "activity"), [
    (0.60, 0.10, 0.0, "bot", "command ping"),  # 500 ms of its own beyond the collection: the command's
    (0.35, 0.15, 0.0, None, "garbage collection"),  # under half collection, yet only 200 ms of its own
    (0.45, 0.0, 0.40, None, None),  # the process did not run: no stall at all
])
def test_an_instance_is_blamed_only_for_its_own_time(late: float, gc_seconds: float, suspended: float,
                                                     blamed: str | None, activity: str | None) -> None:
    watchdog = LoopWatchdog()
    with capture_logs() as logs:
        watchdog._report(late, ("bot", "command ping"), gc_seconds, suspended)
    stalls = [e for e in logs if e["event"] == "event_loop_stalled"]
    if activity is None:
        assert stalls == [] and watchdog.count_for("bot") == 0
        assert [e["event"] for e in logs] == ["process_suspended"]
    else:
        [stall] = stalls
        assert stall["instance"] == blamed and stall["activity"] == activity
        assert watchdog.count_for("bot") == (1 if blamed else 0)
