"""systemd integration: sd_notify datagrams from the real daemon, and the unit file's hardening."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import REPO, DaemonProcess, InstanceFolders, add_bot, eventually

pytestmark = pytest.mark.e2e  # the daemon under a fake systemd


async def collect(sock: socket.socket, into: list[str]) -> None:
    """Read datagrams as they come, like systemd does (the kernel queues only a few)."""
    loop = asyncio.get_running_loop()
    while True:
        into.append((await loop.sock_recv(sock, 4096)).decode())


def fields_of(messages: list[str]) -> list[str]:
    return [line for message in messages for line in message.splitlines()]


def ready_after_reloading(fields: list[str]) -> bool:
    return "RELOADING=1" in fields and "READY=1" in fields[fields.index("RELOADING=1"):]


async def test_notify_protocol_in_order(emu: Emulator, instances: InstanceFolders, tmp_path: Path,
                                        database_url: str, schemas: list[str], unique) -> None:
    bot = add_bot(emu, instances, "notified", prefix="!", schema=unique("notify"), database_url=database_url)
    schemas.append(bot.schema)
    notify_path = tmp_path / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(notify_path))
    receiver.setblocking(False)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "400000"})
    messages: list[str] = []
    reader = asyncio.create_task(collect(receiver, messages))
    try:
        await daemon.start()
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready")
        await eventually(lambda: fields_of(messages).count("WATCHDOG=1") >= 2)  # a few watchdog pings
        assert daemon.process is not None
        daemon.process.send_signal(signal.SIGHUP)
        await daemon.wait_log(lambda e: e.get("event") == "rescan_started" and e.get("reason") == "SIGHUP")
        await eventually(lambda: ready_after_reloading(fields_of(messages)))
        assert await daemon.stop() == 0
        await eventually(lambda: "STOPPING=1" in fields_of(messages))
    finally:
        reader.cancel()
        receiver.close()
    fields = fields_of(messages)
    ready = fields.index("READY=1")
    assert fields[ready + 1] == "STATUS=1 running, 0 backoff, 0 failed"
    reloading = fields.index("RELOADING=1")
    assert reloading > ready and fields[reloading + 1].startswith("MONOTONIC_USEC=")
    assert "READY=1" in fields[reloading:]
    stopping = fields.index("STOPPING=1")
    assert stopping > reloading
    assert "WATCHDOG=1" in fields[ready:stopping]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not on this machine")
def test_unit_file_passes_the_security_threshold() -> None:
    unit = REPO / "systemd" / "discord-supervisor.service"
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=25", str(unit)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    last = [line for line in result.stdout.splitlines() if "Overall exposure level" in line][-1]
    exposure = float(last.split(":")[-1].split()[0])
    assert exposure <= 2.5, last
    unit_text = unit.read_text()
    for setting in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                    "StateDirectory=", "RuntimeDirectory=", "EnvironmentFile="):
        assert setting in unit_text
