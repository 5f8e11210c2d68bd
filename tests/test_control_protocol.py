"""The control socket carries answers of any size, closes idle connections, and validates each command's arguments."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import pytest

from supervisor.daemon.control import ControlServer, request
from tests.support import DaemonProcess, InstanceFolders
from tests.support.daemon import run_cli_async

pytestmark = pytest.mark.e2e

FLEET = 5000


def _write_fleet(root: Path, count: int) -> None:
    for n in range(count):  # configured enough to be listed (no .env: "not configured"), quick to write
        folder = root / f"bot{n:04d}"
        folder.mkdir(parents=True)
        (folder / "config.toml").write_text(f'bot_name = "Bot {n}"\ncommand_prefix = "!"\ncommand_root = ""\n')


async def _idle_connection(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(str(path))


async def _closed_by_daemon(reader: asyncio.StreamReader, timeout: float) -> bool:
    """True when the daemon ended the connection within `timeout` (an end of file, or the socket reset)."""
    try:
        async with asyncio.timeout(timeout):
            return await reader.read() == b""
    except TimeoutError:
        return False
    except OSError:  # reset by the closing side (seen as ECONNRESET or EINVAL on a Unix socket)
        return True


@pytest.mark.slow
async def test_status_of_5000_instances_while_500_idle_connections_are_closed(tmp_path: Path) -> None:
    instances = InstanceFolders(tmp_path / "instances")
    await asyncio.to_thread(_write_fleet, instances.root, FLEET)
    work = Path(tempfile.mkdtemp(prefix="ds-"))  # short: a socket path has at most 107 bytes
    daemon = DaemonProcess(instances.root, work, api_base="http://127.0.0.1:9/api/v10",
                           gateway_url="ws://127.0.0.1:9", extra_args=("--no-watch",))
    await daemon.start()
    try:
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready", timeout=120)
        idle = [await _idle_connection(daemon.control_socket) for _ in range(500)]
        socket_args = ("--control-socket", str(daemon.control_socket))

        code, out, err = await run_cli_async("status", "--json", *socket_args, timeout=60)
        assert code == 0, err
        listed = {item["name"] for item in json.loads(out)}
        assert listed == {f"bot{n:04d}" for n in range(FLEET)}
        code, out, err = await run_cli_async("status", *socket_args, timeout=60)
        assert code == 0, err
        assert len(out.splitlines()) == FLEET + 1 and "bot4999" in out

        # Every idle connection is closed by the daemon within its read timeout (10 s), none left open.
        closed = await asyncio.gather(*(_closed_by_daemon(reader, 20.0) for reader, _ in idle))
        assert all(closed), f"{closed.count(False)} idle connections still open"
        for _, writer in idle:
            writer.close()
        answer = await request(daemon.control_socket, {"command": "ping"})
        assert answer == {"ok": True}
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]


async def test_a_silent_connection_is_closed_after_the_read_timeout_and_others_are_answered(tmp_path: Path) -> None:
    async def handler(payload: dict) -> dict:
        return {"ok": True, "echo": payload}

    server = ControlServer(tmp_path / "c.sock", handler, read_timeout=0.3, max_connections=8)
    await server.start()
    try:
        idle = [await _idle_connection(server.path) for _ in range(20)]  # more than the cap
        answer = await request(server.path, {"command": "status"})
        assert answer == {"ok": True, "echo": {"command": "status"}}
        closed = await asyncio.gather(*(_closed_by_daemon(reader, 10.0) for reader, _ in idle))
        assert all(closed)
        assert server.open_connections == 0
        for _, writer in idle:
            writer.close()
    finally:
        await server.stop()


async def test_an_answer_of_several_megabytes_arrives_whole(tmp_path: Path) -> None:
    big = [{"name": f"bot{n}", "last_error": "x" * 500} for n in range(10_000)]  # about 5 MiB

    async def handler(payload: dict) -> dict:
        return {"ok": True, "instances": big}

    server = ControlServer(tmp_path / "c.sock", handler)
    await server.start()
    try:
        answer = await request(server.path, {"command": "status"})
        assert answer["instances"] == big
    finally:
        await server.stop()


async def test_a_request_over_64_kib_is_refused_with_a_clear_answer(tmp_path: Path) -> None:
    async def handler(payload: dict) -> dict:
        return {"ok": True}

    server = ControlServer(tmp_path / "c.sock", handler)
    await server.start()
    try:
        answer = await request(server.path, {"command": "reload", "names": ["x" * 100_000]})
        assert answer == {"ok": False, "error": "bad request: over 65536 bytes"}
    finally:
        await server.stop()
