"""The control socket: a Unix socket (mode 0600) speaking one JSON request and one JSON answer per connection.

Protocol: the client writes one JSON object on one line (at most 64 KiB); the daemon writes one JSON answer and
closes the connection, so the answer ends at end of file and may be of any size (`status` of thousands of
instances). Each connection must send its request within READ_TIMEOUT seconds; at most MAX_CONNECTIONS are open at
once, and a new one closes the oldest that has not sent its request yet, so idle clients never exhaust the
daemon's file descriptors nor keep `status` from answering.

Requests: {"command": "status"} · {"command": "reload", "names": [...]} · {"command": "restart", "name": N}
· {"command": "pause", "name": N} (stop N and keep it stopped) · {"command": "resume", "name": N}; the full list,
with each command's arguments, is the daemon's table (supervisor/daemon/control_handlers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

SOCKET_NAME = "discord-supervisor.sock"
MAX_REQUEST_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 1 << 30  # a client's bound on what it buffers (5,000 instances' status is about 2 MiB)
READ_TIMEOUT = 10.0  # seconds a connection may take to send its request
WRITE_TIMEOUT = 30.0  # seconds a client may take to read the answer
MAX_CONNECTIONS = 64

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlUnavailable(Exception):
    """No daemon answers on the control socket."""


SYSTEMD_SOCKET = Path("/run/discord-supervisor") / SOCKET_NAME


def default_socket_path(environ: Mapping[str, str] | None = None) -> Path:
    """Absolute, so client commands find the daemon from any working directory."""
    env = os.environ if environ is None else environ  # the settings pass theirs (SupervisorSettings.from_sources)
    runtime = env.get("RUNTIME_DIRECTORY")  # set by systemd's RuntimeDirectory= for the daemon itself
    if runtime:
        return Path(runtime.split(":")[0]) / SOCKET_NAME
    if SYSTEMD_SOCKET.exists():  # an operator's shell beside the systemd service
        return SYSTEMD_SOCKET
    user_runtime = env.get("XDG_RUNTIME_DIR")  # a login session's private runtime directory
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
        async with asyncio.timeout(timeout):
            answer = await _read_answer(reader)
    except TimeoutError as error:
        raise ControlUnavailable(f"the daemon did not answer on {socket_path} within {timeout:.0f} s") from error
    except ConnectionError as error:
        raise ControlUnavailable(f"the daemon closed the control socket {socket_path}: {error}") from error
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if not answer.strip():
        raise ControlUnavailable(f"the daemon closed the control socket {socket_path} without answering")
    try:
        return json.loads(answer)
    except ValueError as error:
        raise ControlUnavailable(f"the daemon's answer on {socket_path} is not JSON: {error}") from error


async def _read_answer(reader: asyncio.StreamReader) -> bytes:
    """Everything up to end of file: an answer has no line or size limit but MAX_ANSWER_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await reader.read(256 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ControlUnavailable(f"the daemon's answer is over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class ControlServer:
    def __init__(self, socket_path: Path, handler: Handler, read_timeout: float = READ_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS):
        self.path = socket_path
        self.handler = handler
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._server: asyncio.AbstractServer | None = None
        self._open: dict[asyncio.StreamWriter, bool] = {}  # every open connection, oldest first: has it asked?

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
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                           limit=MAX_REQUEST_BYTES)
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

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def _make_room(self) -> bool:
        """At the cap, close the oldest connection still waiting for its request; False when all are busy."""
        if len(self._open) < self.max_connections:
            return True
        idle = next((w for w, asked in self._open.items() if not asked), None)
        if idle is None:
            return False
        self._open.pop(idle)
        idle.close()
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._make_room():
            writer.close()  # every slot is answering a request: the client sees the socket closed, retries
            return
        self._open[writer] = False
        try:
            try:
                async with asyncio.timeout(self.read_timeout):
                    line: bytes | None = await reader.readline()
            except ValueError:  # no newline within the stream's limit
                line = None
            if writer not in self._open:
                return  # closed to make room meanwhile
            self._open[writer] = True
            answer = await self._answer(line) if line is not None else \
                {"ok": False, "error": f"bad request: over {MAX_REQUEST_BYTES} bytes"}
            async with asyncio.timeout(WRITE_TIMEOUT):
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass  # a silent or vanished client: its connection just closes
        finally:
            self._open.pop(writer, None)
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(line)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            return await self.handler(payload)
        except ValueError as error:  # json.JSONDecodeError included
            return {"ok": False, "error": f"bad request: {error}"}
        except Exception as error:  # the client always gets an answer
            return {"ok": False, "error": f"the daemon failed to do that: {error!r}"}
