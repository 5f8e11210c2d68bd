"""A discord-bot-rs instance folder runs here unchanged: its example config.toml with every documented key on and a
.env with every key of its .env.example pass `check`, run and answer `!m ping`; without DB_SCHEMA it serves the
rows discord-bot-rs left in `public` (a scratch database of its own, dropped after)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import asyncpg
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from supervisor.migrator import ORIGINAL_BOT_CHECKSUMS, load_migrations, migrate
from tests.support import FeatureHarness, InstanceFolders, McPluginStandIn, message_text, run_check, scratch_database

DATA = Path(__file__).parent / "original_example"
ID = "123456789012345678"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def filled(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    assert "{" not in text.replace("{ ", "").replace("{{", ""), text  # every placeholder filled
    return text


def original_config() -> str:
    ids = ("from_role", "to_role", "join_role", "welcome_channel", "supporter_role", "premium_role", "staff_channel",
           "restricted_role", "staff_role")
    values = {key: str(int(ID) + n) for n, key in enumerate(ids)}
    return filled((DATA / "config.toml").read_text(), {**values, "ai_url": f"http://127.0.0.1:{free_port()}/v1"})


def original_env(database_url: str, plugin: McPluginStandIn, mcp_port: int, token: str = "x.y") -> dict[str, str]:
    text = filled((DATA / "env.template").read_text(), {
        "token": token, "client_id": ID, "guild_id": ID, "database_url": database_url, "mc_url": plugin.url,
        "mc_secret": plugin.secret, "mcp_port": str(mcp_port)})
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(pairs)


def test_the_original_example_passes_check_with_warnings_only_for_what_it_does_not_use(
        instances: InstanceFolders, mc_plugin: McPluginStandIn) -> None:
    env = original_env("postgresql://discord_bot:discord_bot_pass@127.0.0.1:5432/discord_bot", mc_plugin, 9090)
    folder = instances.make("examplebot", config=original_config(), env=env, explicit_schema=False)
    (folder / "welcome_prompt.txt").write_bytes((DATA / "welcome_prompt.txt").read_bytes())
    code, output = run_check(instances.root)
    assert code == 0, output
    assert output.splitlines()[1].split()[:3] == ["examplebot", "ok", "public"]
    warnings = [line.strip() for line in output.splitlines() if "warning:" in line]
    assert warnings == ["warning: examplebot/.env: RUST_LOG: not used: the daemon's log level is `run --log-level` "
                        "(or SUPERVISOR_LOG_LEVEL)"], output


async def test_the_original_folder_runs_answers_m_ping_and_serves_its_rows_in_public(
        harness_factory: Any, database_url: str, mc_plugin: McPluginStandIn) -> None:
    async with scratch_database(database_url, "original") as url:
        # What discord-bot-rs leaves: its two migrations applied by sqlx in `public`, with its checksums.
        await migrate(url, "public", load_migrations()[:2])
        port = free_port()
        env = original_env(url, mc_plugin, port)
        del env["DISCORD_TOKEN"]  # the harness's own
        h: FeatureHarness = await harness_factory(config=original_config(), env=env, explicit_schema=False)
        connection = await asyncpg.connect(url)
        try:
            assert await connection.fetchval("SELECT count(*) FROM public._sqlx_migrations") == \
                len(ORIGINAL_BOT_CHECKSUMS)  # our migrations went to our own ledger, as sqlx expects
            await connection.execute(
                "INSERT INTO public.tempbans (guild_id, user_id, moderator_id, reason, expires_at) "
                "VALUES ($1, '987654321098765432', $2, 'left by discord-bot-rs', now() + interval '2 days')",
                str(h.guild.id), str(h.owner.id))
        finally:
            await connection.close()

        assert await h.say(h.owner, "!m ping")  # command_root unset: "m", as in discord-bot-rs
        banlist = await h.say_message(h.owner, "!m banlist")
        assert "<@987654321098765432>" in message_text(banlist) and "left by discord-bot-rs" in message_text(banlist)
        assert await h.ctx.pool.fetchval("SELECT current_schema()") == "public"  # the instance's own pool

        # Its MCP_PORT serves its tools, as the original's per-bot server did.
        headers = {"Authorization": "Bearer acceptance-token"}
        async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp",
                                                 http_client=httpx2.AsyncClient(headers=headers))) as client:
            assert "list_channels" in {tool.name for tool in (await client.list_tools()).tools}
        await h.stop()
