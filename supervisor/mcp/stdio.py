"""`discord-supervisor mcp`: the daemon's MCP tools over stdio, forwarded through the control socket."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio

from supervisor.daemon.control import ControlUnavailable, request


def serve_stdio(socket_path: Path) -> int:
    from mcp.server.stdio import stdio_server

    from supervisor.mcp.server import build_server

    async def list_tools() -> list[dict[str, Any]]:
        return (await _ask(socket_path, {"command": "mcp_tools"}))["tools"]

    async def call_tool(name: str, arguments: dict[str, Any] | None) -> tuple[str, bool]:
        try:
            answer = await _ask(socket_path, {"command": "mcp_call", "tool": name, "arguments": arguments or {}})
        except ControlUnavailable as error:
            return str(error), True
        return answer["text"], bool(answer["is_error"])

    async def main() -> None:
        server = build_server(list_tools, call_tool)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    try:
        anyio.run(main)
    except KeyboardInterrupt:
        return 0
    except ControlUnavailable as error:
        print(f"discord-supervisor mcp: {error}", file=sys.stderr)
        return 1
    return 0


async def _ask(socket_path: Path, payload: dict[str, Any]) -> dict[str, Any]:
    answer = await request(socket_path, payload, timeout=150.0)
    if not answer.get("ok"):
        raise ControlUnavailable(str(answer.get("error", "the daemon refused the request")))
    return answer
