"""A token pasted into CLIENT_ID is never echoed: not by check, status, the daemon's logs, migrate or backup."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, run_cli, run_cli_async

pytestmark = pytest.mark.e2e  # the daemon and the command line as processes


async def test_a_token_in_client_id_appears_in_no_output(emu: Emulator, instances: InstanceFolders,
                                                         tmp_path: Path, database_url: str) -> None:
    pasted = f"MTA{secrets.token_hex(12)}.GxYz{secrets.token_hex(3)}.{secrets.token_urlsafe(27)}"
    instances.make("leaky", env={"DISCORD_TOKEN": pasted, "CLIENT_ID": pasted, "DATABASE_URL": database_url})
    root = str(instances.root)
    seen: list[str] = []
    for args in (("check",), ("check", "--json"), ("migrate", "leaky"), ("backup", "leaky")):
        result = run_cli(*args, "--instances", root, "--state-dir", str(tmp_path / "state"), timeout=60)
        assert result.returncode != 0 and "CLIENT_ID" in result.stdout + result.stderr, args
        seen += [result.stdout, result.stderr]
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
    await daemon.start()
    try:
        await daemon.wait_log(lambda e: e.get("event") == "instance_invalid")
        for args in (("status",), ("status", "--json")):
            code, out, err = await run_cli_async(*args, "--control-socket", str(daemon.control_socket))
            assert code == 0 and "CLIENT_ID" in out, err
            seen += [out, err]
    finally:
        await daemon.stop()
    seen.append(daemon.stderr_text)
    assert "CLIENT_ID" in daemon.stderr_text
    backups = tmp_path / "state"
    seen += [str(p) for p in backups.rglob("*")] if backups.exists() else []
    leaks = [text for text in seen if pasted in text or pasted[:24] in text]
    assert not leaks, leaks
