"""The fleet's one HTTP listener: what `run` refuses, and /mcp beside the console with their own tokens."""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp
import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, run_cli

pytestmark = pytest.mark.e2e

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "t", "version": "1"}}}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.mark.parametrize(("flags", "said"), [
    (("--http-listen", "0.0.0.0:9999"), "--http-listen 0.0.0.0:9999 is not a loopback address: set "
                                        "SUPERVISOR_HTTP_TOKEN"),
    (("--mcp-listen", "192.0.2.1:80"), "set MCP_AUTH_TOKEN (or SUPERVISOR_HTTP_TOKEN)"),
    (("--http-listen", "127.0.0.1:9001", "--mcp-listen", "127.0.0.1:9002"), "the fleet has one HTTP listener"),
    (("--http-listen", "9001"), "--http-listen must be HOST:PORT"),
])
def test_run_refuses_an_unsafe_or_unclear_listener(tmp_path: Path, flags: tuple[str, ...], said: str) -> None:
    done = run_cli("run", "--instances", str(tmp_path), "--control-socket", str(tmp_path / "c.sock"), *flags,
                   env={"SUPERVISOR_HTTP_TOKEN": "", "MCP_AUTH_TOKEN": ""})
    assert done.returncode == 2 and said in done.stderr, done.stderr


async def test_mcp_and_the_console_share_the_listener_each_with_its_token(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path) -> None:
    instances.root.mkdir(exist_ok=True)
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--http-listen", "127.0.0.1:0", "--mcp-listen", "127.0.0.1:0"),
                           env={"SUPERVISOR_HTTP_TOKEN": "console-token", "MCP_AUTH_TOKEN": "mcp-token"})
    await daemon.start()
    try:
        listening = await daemon.wait_log(lambda e: e.get("event") == "http_listening")
        base = listening["url"].rstrip("/")
        assert listening["mcp"] == f"{base}/mcp"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/", headers={"authorization": "Bearer console-token"}) as answer:
                assert answer.status == 200 and "<table id=\"fleet\"" in await answer.text()
            async with http.get(f"{base}/", headers={"authorization": "Bearer mcp-token"}) as answer:
                assert answer.status == 401  # the MCP token is for /mcp only
            async with http.post(f"{base}/mcp", json=INITIALIZE,
                                 headers={**MCP_HEADERS, "authorization": "Bearer console-token"}) as answer:
                assert answer.status == 401
            async with http.post(f"{base}/mcp", json=INITIALIZE,
                                 headers={**MCP_HEADERS, "authorization": "Bearer mcp-token"}) as answer:
                assert answer.status == 200 and "discord-supervisor" in await answer.text()
    finally:
        assert await daemon.stop(signal.SIGTERM) == 0
