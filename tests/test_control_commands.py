"""Each control command validates its arguments and answers a clear error, through the running daemon."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from supervisor.daemon.control import request
from tests.support import DaemonProcess, InstanceFolders

pytestmark = pytest.mark.e2e


async def test_control_commands_refuse_arguments_of_the_wrong_type(tmp_path: Path) -> None:
    instances = InstanceFolders(tmp_path / "instances")
    instances.make("ab", config='bot_name = "AB"\ncommand_prefix = "!"\ncommand_root = ""\n')
    work = Path(tempfile.mkdtemp(prefix="ds-"))
    daemon = DaemonProcess(instances.root, work, api_base="http://127.0.0.1:9/api/v10", gateway_url="ws://127.0.0.1:9")
    await daemon.start()
    try:
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready", timeout=60)
        ask = daemon.control_socket
        answer = await request(ask, {"command": "reload", "names": "ab"})
        assert answer == {"ok": False,
                          "error": "reload: 'names' must be a list of instance names (got a string)"}
        answer = await request(ask, {"command": "restart"})
        assert answer == {"ok": False, "error": "restart needs 'name': an instance name (a non-empty string)"}
        answer = await request(ask, {"command": "restart", "name": ["ab"]})
        assert answer["ok"] is False and "'name' must be an instance name" in answer["error"]
        answer = await request(ask, {"command": "status", "fleet": 1})
        assert answer == {"ok": False, "error": "status: unknown argument 'fleet'"}
        answer = await request(ask, {"command": "explode"})
        assert answer["ok"] is False and answer["error"].startswith("unknown command 'explode' (commands: ")
        answer = await request(ask, {"command": "reload", "names": ["ab"]})
        assert answer == {"ok": True}
        answer = await request(ask, {"command": "reload", "names": ["nope"]})
        assert answer == {"ok": False, "error": "no such instance: nope"}
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]
