"""The fleet's MCP endpoint with two hosted bots (fixture `world`), shared by the MCP test modules."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest_asyncio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from supervisor.mcp.router import McpRouter, tool_listing
from supervisor.mcp.server import McpHttpService, McpListen
from supervisor.sdk.mcp_tools import ALL_TOOLS
from tests.support.harness import FeatureHarness

TOKEN = "mcp-test-token"
EVERY_TOOL = "[features]\nmcp = true\n[mcp]\ntools = [" + ", ".join(f'"{t}"' for t in ALL_TOOLS) + "]\n"
READ_ONLY = "[features]\nmcp = true\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class McpWorld:
    a: FeatureHarness
    b: FeatureHarness
    router: McpRouter
    url: str

    async def call(self, tool: str, **arguments: Any) -> tuple[str, bool]:
        outcome = await self.router.call(tool, arguments)
        return outcome.text, outcome.is_error

    def client(self, token: str | None = TOKEN) -> Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return Client(streamable_http_client(self.url, http_client=httpx2.AsyncClient(headers=headers)))


@pytest_asyncio.fixture
async def world(harness_factory: Any) -> AsyncIterator[McpWorld]:
    a = await harness_factory(name="alpha", config_extra=EVERY_TOOL)
    b = await harness_factory(name="beta", config_extra=READ_ONLY)
    fleet = SimpleNamespace(runners={a.name: a.runner, b.name: b.runner})
    router = McpRouter(fleet)

    async def list_tools() -> list[dict[str, Any]]:
        return tool_listing()

    async def call_tool(name: str, arguments: dict[str, Any] | None) -> tuple[str, bool]:
        outcome = await router.call(name, arguments)
        return outcome.text, outcome.is_error

    listen = McpListen("127.0.0.1", free_port(), TOKEN)
    service = McpHttpService(listen, list_tools, call_tool)
    await service.start()
    try:
        yield McpWorld(a, b, router, f"http://127.0.0.1:{listen.port}/mcp")
    finally:
        await service.stop()


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content)
