"""An instance's own MCP listener (MCP_PORT in its .env), as discord-bot-rs had one per bot: the official `mcp` SDK
client pointed at that port lists the instance's tools and calls them; the auth, body cap and non-loopback
guard are the fleet endpoint's."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from supervisor.sdk.mcp_tools import READ_ONLY_TOOLS
from tests.support import FeatureHarness, eventually

TOKEN = "per-instance-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client(port: int, token: str | None = TOKEN) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp",
                                         http_client=httpx2.AsyncClient(headers=headers)))


async def test_an_mcp_client_on_the_instances_own_port_lists_and_calls_its_tools(harness_factory: Any) -> None:
    port = free_port()
    # No [features] mcp: MCP_PORT is the opt-in, as the original's server always ran.
    h: FeatureHarness = await harness_factory(env={"MCP_PORT": str(port), "MCP_AUTH_TOKEN": TOKEN})
    h.add_member("carol")
    async with client(port) as session:
        tools = (await session.list_tools()).tools
        assert {tool.name for tool in tools} == set(READ_ONLY_TOOLS)  # its [mcp] allow-list, read-only by default
        assert all("instance" not in tool.input_schema.get("properties", {}) for tool in tools)
        members = await session.call_tool("list_members", {})
        assert not members.is_error and "carol" in "\n".join(block.text for block in members.content)
        refused = await session.call_tool("send_message", {"channel_id": str(h.channel.id), "content": "x"})
        assert refused.is_error and "not allowed" in refused.content[0].text
        fleet_only = await session.call_tool("list_instances", {})
        assert fleet_only.is_error
    assert not any(m.content == "x" for m in h.emu.messages(h.channel))


async def test_its_auth_cap_and_webhook_paths(harness_factory: Any) -> None:
    port = free_port()
    await harness_factory(env={"MCP_PORT": str(port), "MCP_AUTH_TOKEN": TOKEN})
    url = f"http://127.0.0.1:{port}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/mcp", json=body, headers=headers) as missing:
            assert missing.status == 401
        async with http.post(f"{url}/mcp", json=body, headers={**headers, "Authorization": "Bearer no"}) as wrong:
            assert wrong.status == 401
        big = {**body, "params": {"pad": "x" * 70_000}}
        async with http.post(f"{url}/mcp", json=big, headers={**headers, "Authorization": f"Bearer {TOKEN}"}) as large:
            assert large.status == 413
        # minecraft is off: no chargeback webhook here, as the original mounted none
        async with http.post(f"{url}/webhook/chargeback", json={}) as hook:
            assert hook.status == 404


async def test_a_public_bind_without_a_token_is_refused_and_the_bot_runs_on(harness_factory: Any) -> None:
    port = free_port()
    h: FeatureHarness = await harness_factory(env={"MCP_PORT": str(port), "MCP_BIND_ADDR": "0.0.0.0"})
    await eventually(lambda: "mcp:listener" in h.status()["warnings"])
    assert "is not a loopback address and MCP_AUTH_TOKEN is empty" in h.status()["warnings"]["mcp:listener"]
    assert await h.say(h.owner, "!ping")
    with socket.socket() as probe:  # nothing listens there
        assert probe.connect_ex(("127.0.0.1", port)) != 0


async def test_the_listener_goes_with_the_instance_and_comes_back_with_it(harness_factory: Any) -> None:
    port = free_port()
    h: FeatureHarness = await harness_factory(env={"MCP_PORT": str(port)})  # loopback: no token needed
    async with client(port, None) as session:
        assert (await session.list_tools()).tools
    await h.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    await h.start()
    await eventually(lambda: _listening(port))
    async with client(port, None) as session:
        assert (await session.list_tools()).tools


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
