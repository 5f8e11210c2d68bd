"""The control socket: a Unix socket (mode 0600) speaking one JSON request and one JSON answer per connection.

Requests: {"command": "status"} · {"command": "reload", "names": [...]} · {"command": "restart", "name": N}
· {"command": "pause", "name": N} (stop N and keep it stopped) · {"command": "resume", "name": N}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SOCKET_NAME = "discord-supervisor.sock"
MAX_REQUEST_BYTES = 64 * 1024

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlUnavailable(Exception):
    """No daemon answers on the control socket."""


SYSTEMD_SOCKET = Path("/run/discord-supervisor") / SOCKET_NAME


def default_socket_path() -> Path:
    """Absolute, so client commands find the daemon from any working directory."""
    runtime = os.environ.get("RUNTIME_DIRECTORY")  # set by systemd's RuntimeDirectory= for the daemon itself
    if runtime:
        return Path(runtime.split(":")[0]) / SOCKET_NAME
    if SYSTEMD_SOCKET.exists():  # an operator's shell beside the systemd service
        return SYSTEMD_SOCKET
    user_runtime = os.environ.get("XDG_RUNTIME_DIR")  # a login session's private runtime directory
    if user_runtime and Path(user_runtime).is_absolute():
        return Path(user_runtime) / "discord-supervisor" / SOCKET_NAME
    return Path(f"/tmp/discord-supervisor-{os.geteuid()}") / SOCKET_NAME


async def request(socket_path: Path, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(socket_path)), 5.0)
    except (FileNotFoundError, ConnectionRefusedError, TimeoutError) as error:
        raise ControlUnavailable(
            f"no discord-supervisor daemon is running (nothing answers on {socket_path})"
        ) from error
    except PermissionError as error:
        raise ControlUnavailable(f"not allowed to use the control socket {socket_path}: run as the daemon's user") \
            from error
    try:
        writer.write(json.dumps(payload).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    except TimeoutError as error:
        raise ControlUnavailable(f"the daemon did not answer on {socket_path} within {timeout:.0f} s") from error
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if not line:
        raise ControlUnavailable(f"the daemon closed the control socket {socket_path} without answering")
    return json.loads(line)


class ControlServer:
    def __init__(self, socket_path: Path, handler: Handler):
        self.path = socket_path
        self.handler = handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.path.parent.stat().st_uid != os.geteuid():  # e.g. a /tmp folder someone else made first
            raise RuntimeError(f"{self.path.parent} belongs to another user; choose --control-socket PATH")
        if self.path.exists():
            try:
                await request(self.path, {"command": "ping"}, timeout=2)
            except ControlUnavailable:
                self.path.unlink()  # left behind by a daemon that died
            else:
                raise RuntimeError(f"another daemon is already running on {self.path}")
        old_umask = os.umask(0o177)  # the socket is created 0600: only the daemon's user may control it
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is None:
            return  # never bound: the socket on disk (if any) is another daemon's
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            try:
                payload = json.loads(line[:MAX_REQUEST_BYTES])
                if not isinstance(payload, dict):
                    raise ValueError("not an object")
                answer = await self.handler(payload)
            except (ValueError, json.JSONDecodeError) as error:
                answer = {"ok": False, "error": f"bad request: {error}"}
            except Exception as error:  # the client always gets an answer
                answer = {"ok": False, "error": f"the daemon failed to do that: {error!r}"}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
