"""The fleet's MCP endpoint, in-process: the SDK's own client over streamable HTTP against the real router,
two hosted bots, and the emulator's state as the proof of every effect."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from mcp import Client

from supervisor.emulator import P
from supervisor.mcp.router import tool_listing
from supervisor.mcp.server import McpListen
from supervisor.sdk.mcp_tools import ALL_TOOLS
from tests.support.mcp_world import READ_ONLY, TOKEN, McpWorld, free_port, text_of


async def test_sdk_client_lists_tools_and_calls_each_instance_in_its_own_guild(world: McpWorld) -> None:
    a, b = world.a, world.b
    b.add_member("carol")
    async with world.client() as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {*ALL_TOOLS, "list_instances"} and len(names) == 44
        sent = await client.call_tool("send_message", {"instance": a.name, "channel_id": str(a.channel.id),
                                                        "content": "hello from MCP @everyone"})
        assert not sent.is_error and "Message sent" in text_of(sent)
        members = await client.call_tool("list_members", {"instance": b.name})
        assert not members.is_error and "carol" in text_of(members)
        by_guild = await client.call_tool("get_guild_info", {"guild_id": str(b.guild.id)})
        assert f"Server: {b.guild.name}" in text_of(by_guild)
        listing = text_of(await client.call_tool("list_instances", {}))
        assert f"{a.name} | running | mcp: on | guilds: {a.guild.id}" in listing
        neither = await client.call_tool("list_channels", {})
        assert neither.is_error and "Available instances: alpha, beta2" in text_of(neither)
    a_texts = [m.content for m in a.emu.messages(a.channel)]
    assert "hello from MCP @everyone" in a_texts
    assert not any("hello from MCP" in m.content for m in b.emu.messages(b.channel))
    [message] = [m for m in a.emu.messages(a.channel) if m.content.startswith("hello from MCP")]
    assert not message.mention_everyone  # nobody pinged


async def test_wrong_or_missing_token_oversized_body_and_foreign_host_are_refused(world: McpWorld) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        async with http.post(world.url, json=body, headers=headers) as missing:
            assert missing.status == 401
        async with http.post(world.url, json=body, headers={**headers, "Authorization": "Bearer nope"}) as wrong:
            assert wrong.status == 401
        auth = {**headers, "Authorization": f"Bearer {TOKEN}"}
        big = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "x" * 70_000}}
        async with http.post(world.url, json=big, headers=auth) as oversized:
            assert oversized.status == 413
        async with http.post(world.url, json=body, headers={**auth, "Host": "evil.example:80"}) as foreign:
            assert foreign.status in (403, 421)


async def test_a_tool_missing_from_the_allow_list_never_reaches_discord(world: McpWorld) -> None:
    b = world.b
    victim = b.add_member("victim")
    bans_before = b.emu.count_requests("PUT", "/guilds/{guild_id}/bans/{user_id}")
    text, is_error = await world.call("ban_member", instance=b.name, user_id=str(victim.id))
    assert is_error and "not allowed for instance beta2" in text and "[mcp]" in text
    assert victim.id not in b.emu.bans(b.guild)
    assert b.emu.count_requests("PUT", "/guilds/{guild_id}/bans/{user_id}") == bans_before


async def test_a_channel_of_another_guild_is_refused(world: McpWorld) -> None:
    a, b = world.a, world.b
    a.emu.add_bot_to_guild(b.guild, a.bot_user)  # alpha's bot can now see beta's channel too
    text, is_error = await world.call("send_message", instance=a.name, guild_id=str(a.guild.id),
                                      channel_id=str(b.channel.id), content="x")
    assert is_error and f"is not in server {a.guild.id}" in text
    assert not any(m.content == "x" for m in b.emu.messages(b.channel))


async def test_messages_family(world: McpWorld) -> None:
    a = world.a
    dave = a.add_member("dave")
    for text in ("apples", "bananas", "apple pie"):
        await a.send(dave, text)
    recent, _ = await world.call("get_recent_messages", instance=a.name, channel_id=str(a.channel.id), limit=2)
    assert "apple pie" in recent and "bananas" in recent and "apples" not in recent
    found, _ = await world.call("search_messages", instance=a.name, channel_id=str(a.channel.id), content="APPLE",
                                author_name="dav")
    assert found.startswith("2 match(es)") and "apple pie" in found and "bananas" not in found
    newest = a.emu.messages(a.channel)[-1]
    _, error = await world.call("add_reaction", instance=a.name, channel_id=str(a.channel.id),
                                message_id=str(newest.id), emoji="👍")
    assert not error and a.bot_user.id in newest.reactions.get("👍", [])
    deleted, error = await world.call("delete_messages", instance=a.name, channel_id=str(a.channel.id), count=2)
    assert not error and deleted.startswith("Deleted 2")
    assert newest.id in a.emu.deleted_message_ids(a.channel)
    bad, error = await world.call("delete_messages", instance=a.name, channel_id=str(a.channel.id), count=101)
    assert error and "1 to 100" in bad


async def test_channels_family(world: McpWorld) -> None:
    a = world.a
    created, error = await world.call("create_channel", instance=a.name, name="Game Night", topic="dice")
    assert not error, created
    channel_id = created.rsplit("ID: ", 1)[1].rstrip(")")
    channel = a.emu.state.channel(int(channel_id))
    assert channel.name == "game-night" and channel.topic == "dice"
    _, error = await world.call("edit_channel", instance=a.name, channel_id=channel_id, slowmode_seconds=30)
    assert not error and channel.rate_limit_per_user == 30
    role = a.emu.create_role(a.guild, "muted", 0)
    _, error = await world.call("set_channel_permissions", instance=a.name, channel_id=channel_id,
                                target_type="role", target_id=str(role.id), deny=str(int(P.SEND_MESSAGES)))
    assert not error and any(o.id == role.id and o.deny == int(P.SEND_MESSAGES) for o in channel.overwrites)
    listing, _ = await world.call("list_channels", instance=a.name)
    assert f"#game-night (text) | ID: {channel_id}" in listing
    _, error = await world.call("delete_channel", instance=a.name, channel_id=channel_id)
    assert not error and int(channel_id) not in a.emu.guild(a.guild).channels


async def test_roles_family(world: McpWorld) -> None:
    a = world.a
    erin = a.add_member("erin")
    created, error = await world.call("create_role", instance=a.name, name="Regulars", color=0x00FF00)
    assert not error, created
    role_id = int(created.rsplit("ID: ", 1)[1].rstrip(")"))
    _, error = await world.call("edit_role", instance=a.name, role_id=str(role_id), name="Veterans")
    assert not error and a.emu.guild(a.guild).roles[role_id].name == "Veterans"
    _, error = await world.call("assign_role", instance=a.name, user_id=str(erin.id), role_id=str(role_id))
    assert not error and role_id in a.emu.member_roles(a.guild, erin)
    _, error = await world.call("remove_role", instance=a.name, user_id=str(erin.id), role_id=str(role_id))
    assert not error and role_id not in a.emu.member_roles(a.guild, erin)
    _, error = await world.call("delete_role", instance=a.name, role_id=str(role_id))
    assert not error and role_id not in a.emu.guild(a.guild).roles


async def test_members_family_passes_the_timeout_reason_to_discord(world: McpWorld) -> None:
    a = world.a
    frank, gina = a.add_member("frank"), a.add_member("gina")
    _, error = await world.call("timeout_member", instance=a.name, user_id=str(frank.id), duration="10",
                                reason="cool down")
    assert not error and a.emu.timeout_until(a.guild, frank) is not None
    assert "cool down" in a.emu.audit_reasons(a.guild)  # the original dropped this reason
    too_long, error = await world.call("timeout_member", instance=a.name, user_id=str(frank.id), duration="29d")
    assert error and "28 days" in too_long
    _, error = await world.call("set_nickname", instance=a.name, user_id=str(gina.id), nickname="G")
    assert not error and a.emu.member(a.guild, gina).nick == "G"
    _, error = await world.call("ban_member", instance=a.name, user_id=str(gina.id), reason="spam")
    assert not error and a.emu.bans(a.guild) == {gina.id: "spam"}
    bans, _ = await world.call("get_bans", instance=a.name)
    assert f"ID: {gina.id} | reason: spam" in bans
    _, error = await world.call("unban_member", instance=a.name, user_id=str(gina.id))
    assert not error and a.emu.bans(a.guild) == {}
    _, error = await world.call("kick_member", instance=a.name, user_id=str(frank.id))
    assert not error and frank.id in a.emu.kicked(a.guild)


async def test_private_messages_family(world: McpWorld) -> None:
    a = world.a
    hank = a.add_member("hank")
    sent, error = await world.call("send_private_message", instance=a.name, user_id=str(hank.id), content="psst")
    assert not error, sent
    dm = a.emu.dm_channel(hank, a.bot_user)
    assert [m.content for m in a.emu.messages(dm)] == ["psst"]
    message_id = sent.rsplit("ID: ", 1)[1].rstrip(")")
    _, error = await world.call("edit_private_message", instance=a.name, user_id=str(hank.id),
                                message_id=message_id, content="psst, edited")
    assert not error and a.emu.messages(dm)[0].content == "psst, edited"
    read, _ = await world.call("read_private_messages", instance=a.name, user_id=str(hank.id))
    assert "psst, edited" in read
    _, error = await world.call("delete_private_message", instance=a.name, user_id=str(hank.id),
                                message_id=message_id)
    assert not error and a.emu.messages(dm) == []


async def test_webhooks_family(world: McpWorld) -> None:
    a = world.a
    refused, error = await world.call("create_webhook", instance=a.name, channel_id=str(a.channel.id),
                                      name="my discord hook")
    assert error and "discord" in refused
    created, error = await world.call("create_webhook", instance=a.name, channel_id=str(a.channel.id),
                                      name="announcer")
    assert not error, created
    webhook_id = created.split("id=", 1)[1].split(")", 1)[0]
    token = created.rsplit("token=", 1)[1]
    _, error = await world.call("send_webhook_message", instance=a.name, webhook_id=webhook_id, token=token,
                                content="from the hook")
    assert not error and a.emu.messages(a.channel)[-1].content == "from the hook"
    listing, _ = await world.call("list_webhooks", instance=a.name, channel_id=str(a.channel.id))
    assert f"announcer (id={webhook_id})" in listing
    _, error = await world.call("delete_webhook", instance=a.name, webhook_id=webhook_id)
    assert not error and int(webhook_id) not in a.emu.state.webhooks


def test_catalogue_matches_the_allow_list_names() -> None:
    assert {t["name"] for t in tool_listing()} == {*ALL_TOOLS, "list_instances"}
    for tool in tool_listing()[1:]:  # list_instances takes no instance
        assert tool["inputSchema"]["type"] == "object" and "instance" in tool["inputSchema"]["properties"]


@pytest.mark.parametrize("bind", ["0.0.0.0:9999", "192.0.2.1:80"])
def test_a_non_loopback_bind_without_a_token_is_refused(bind: str) -> None:
    from supervisor.mcp.server import McpConfigError

    with pytest.raises(McpConfigError, match="MCP_AUTH_TOKEN"):
        McpListen.parse(bind, None)
    assert McpListen.parse(bind, "secret").token == "secret"


@pytest.mark.e2e
@pytest.mark.slow
async def test_daemon_endpoint_sees_instances_come_and_go_and_stdio_serves_the_same_tools(
        emu: Any, instances: Any, database_url: str, schemas: list[str], unique: Any, tmp_path: Any) -> None:
    """The real daemon with --mcp-listen: a folder dropped in while a client is connected shows up and takes calls,
    a removed one is refused; `discord-supervisor mcp` over stdio lists the same tools and makes a call."""
    import shutil
    import sys

    from mcp.client.stdio import StdioServerParameters

    from tests.support import DaemonProcess, add_bot, eventually

    first = add_bot(emu, instances, "first", prefix="!", schema=unique("mcp_first"), database_url=database_url,
                    config_extra=READ_ONLY)
    schemas.append(first.schema)
    port = free_port()
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--mcp-listen", f"127.0.0.1:{port}"))
    await daemon.start()
    try:
        await daemon.wait_running("first")
        url = f"http://127.0.0.1:{port}/mcp"
        async with Client(url) as client:
            assert "first | running | mcp: on" in text_of(await client.call_tool("list_instances", {}))
            second = add_bot(emu, instances, "second", prefix="?", schema=unique("mcp_second"),
                             database_url=database_url, config_extra=READ_ONLY)
            schemas.append(second.schema)

            async def second_running() -> bool:
                listing = text_of(await client.call_tool("list_instances", {}))
                return f"second | running | mcp: on | guilds: {second.guild.id}" in listing
            await eventually(second_running, timeout=30)
            channels = await client.call_tool("list_channels", {"guild_id": str(second.guild.id)})
            assert not channels.is_error and f"ID: {second.channel.id}" in text_of(channels)
            shutil.rmtree(second.folder)

            async def second_gone() -> bool:
                result = await client.call_tool("list_channels", {"instance": "second"})
                return result.is_error and "Instance not found: second" in text_of(result)
            await eventually(second_gone, timeout=30)

        stdio = StdioServerParameters(command=sys.executable, args=["-m", "supervisor", "mcp", "--control-socket",
                                                                    str(daemon.control_socket)])
        async with Client(stdio) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert len(names) == 44 and "send_message" in names
            guilds = await client.call_tool("list_guilds", {"instance": "first"})
            assert not guilds.is_error and f"ID: {first.guild.id}" in text_of(guilds)
        calls = [e for e in daemon.logs if e.get("event") == "mcp_call"]
        assert calls and all(set(e) >= {"instance", "tool", "outcome"} for e in calls)
        assert not any("arguments" in e for e in calls)
    finally:
        code = await daemon.stop()
        assert code == 0, daemon.stderr_text[-3000:]


def test_the_reference_lists_every_tool() -> None:
    from tests.support import REPO

    text = (REPO / "docs" / "mcp.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in text for name in ALL_TOOLS)
