"""The MCP endpoint closes idle and slow connections (a client that connects and says nothing, or drips its headers)
so a few hundred of them cannot use up the daemon's file descriptors, and it keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from supervisor.mcp.router import tool_listing
from supervisor.mcp.server import McpHttpService, McpListen

IDLE = 250  # connections that never send a byte
SLOW = 250  # connections that send half a request head and stop
HEADER_TIMEOUT = 0.3  # the daemon's is 10 s; what is tested is that they are closed at all


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await reader.read(1024) == b""
    except ConnectionResetError:
        return True


async def test_idle_and_slow_connections_are_closed_and_the_endpoint_keeps_answering() -> None:
    async def list_tools() -> list[dict[str, Any]]:
        return tool_listing()

    async def call_tool(name: str, arguments: dict[str, Any] | None) -> tuple[str, bool]:
        return "unused", True

    listen = McpListen("127.0.0.1", free_port(), None)
    service = McpHttpService(listen, list_tools, call_tool, header_timeout=HEADER_TIMEOUT)
    await service.start()
    writers: list[asyncio.StreamWriter] = []
    try:
        readers = []
        for number in range(IDLE + SLOW):
            reader, writer = await asyncio.open_connection("127.0.0.1", listen.port)
            if number >= IDLE:
                writer.write(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
                await writer.drain()
            readers.append(reader)
            writers.append(writer)
        async with asyncio.timeout(30):
            closed = await asyncio.gather(*(closed_by_server(reader) for reader in readers))
        assert all(closed)
        url = f"http://127.0.0.1:{listen.port}/mcp"
        async with Client(streamable_http_client(url, http_client=httpx2.AsyncClient())) as client:
            assert "list_instances" in {tool.name for tool in (await client.list_tools()).tools}
    finally:
        for writer in writers:
            writer.close()
        await service.stop()
