"""Under systemd each log line carries its syslog priority, so `journalctl -p warning` shows warnings and errors
and nothing else (a clean start shows nothing); discord.py's reconnect tracebacks are one line each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot

WARNING = 4  # syslog priorities: 3 error, 4 warning, 6 info, 7 debug
STALL = '"event": "event_loop_stalled"'


@pytest.mark.e2e
async def test_each_line_carries_its_priority_and_a_clean_start_has_no_warning(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    instances = InstanceFolders(tmp_path / "instances")
    # Stocks off: on by default, it warns (rightly) when its FINNHUB_API_KEY is missing.
    good = add_bot(emu, instances, "clean", prefix="!", schema=unique("clean"), database_url=database_url,
                   config_extra='command_root = ""\n[features]\nstocks = false\n')
    schemas.append(good.schema)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           journal=True)
    await daemon.start()
    try:
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready")
        assert daemon.priorities and len(daemon.priorities) == len(daemon.book.raw)  # every line has one
        # -p warning: quiet. A loop stall is the one warning a clean start may give, on a machine loaded by others.
        loud = [line for priority, line in daemon.priorities if priority <= WARNING and STALL not in line]
        assert loud == [], loud
        assert {priority for priority, line in daemon.priorities if STALL not in line} == {6}
        # A bot whose token Discord refuses: an error, which journald must file as one.
        bad = add_bot(emu, instances, "refused", prefix="!", schema=unique("refused"), database_url=database_url,
                      register_token=False)
        schemas.append(bad.schema)
        failed = await daemon.wait_log(lambda e: e.get("event") == "instance_failed" and e.get("instance") == "refused")
        [(priority, _)] = [(p, line) for p, line in daemon.priorities if '"instance_failed"' in line]
        assert failed["level"] == "error" and priority == 3
    finally:
        assert await daemon.stop() == 0
    assert not [line for priority, line in daemon.priorities
                if priority <= WARNING and "refused" not in line and STALL not in line]


RECONNECT = """
import logging, sys
from supervisor import logs
logs.configure(sys.argv[1], json=False)
try:
    raise OSError(111, "Connect call failed ('127.0.0.1', 9)")
except OSError:
    logging.getLogger("discord.client").exception("Attempting a reconnect in %.2fs", 1.5)
"""


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_discord_reconnect_is_one_line_with_its_trace_at_debug(level: str) -> None:
    done = subprocess.run([sys.executable, "-c", RECONNECT, level], capture_output=True, text=True, timeout=60)
    lines = done.stderr.splitlines()
    [reconnect] = [line for line in lines if "Attempting a reconnect" in line]
    assert "Attempting a reconnect in 1.50s (ConnectionRefusedError: [Errno 111] Connect call failed" in reconnect
    assert "[warning" in reconnect
    if level == "INFO":
        assert len(lines) == 1 and "Traceback" not in done.stderr
    else:
        assert "discord_reconnect_traceback" in done.stderr and "Traceback (most recent call last)" in done.stderr
