"""The `minecraft` feature end to end: the emulator, a local stand-in for the companion plugin, the instance's own
MCP listener (the chargeback webhook) and the fleet endpoint's route to it. Buttons are pressed through emulator
interactions."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio

from supervisor.emulator import P, Role
from supervisor.emulator.models import Message
from supervisor.mcp.router import McpRouter, tool_listing
from supervisor.mcp.server import McpHttpService, McpListen
from supervisor.mcp.webhook_routes import fleet_resolver
from tests.support import DaemonProcess, FeatureHarness, McPluginStandIn, add_bot, eventually, post_webhook

LINKED_UUID = "069a79f4-44e9-4726-a5be-fca90e38aaf5"
UNLINKED_UUID = "853c80ef-3c37-49fd-aa49-938b674adae6"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def minecraft_config(*, supporter: Role | None = None, premium: Role | None = None, staff_channel: int = 0,
                     restricted: Role | None = None, staff: list[Role] | None = None, verify: bool = True) -> str:
    text = f"[features]\nminecraft = true\n[minecraft]\nverify = {str(verify).lower()}\n"
    if supporter and premium:
        text += "donator_sync = true\n"
    if staff_channel and restricted:
        text += "chargeback = true\n"
    if supporter and premium:
        text += (f'[minecraft.donator_sync_config]\nsupporter_role = "{supporter.id}"\npremium_role = "{premium.id}"\n'
                 "check_interval = 3600\n")
    if staff_channel and restricted:
        roles = ", ".join(f'"{role.id}"' for role in staff or [])
        text += (f'[minecraft.chargeback_config]\nstaff_channel = "{staff_channel}"\n'
                 f'restricted_role = "{restricted.id}"\nstaff_roles = [{roles}]\n')
    return text


def plugin_env(plugin: McPluginStandIn, **extra: str) -> dict[str, str]:
    return {"MC_VERIFY_URL": plugin.url, "MC_VERIFY_SECRET": plugin.secret, **extra}


# -- verify -----------------------------------------------------------------------------------------------------
async def test_verify_links_echoes_the_plugins_error_and_asks_for_a_code(harness_factory: Any,
                                                                        mc_plugin: McPluginStandIn) -> None:
    mc_plugin.codes["ABC123"] = "Steve"
    h: FeatureHarness = await harness_factory(config_extra=minecraft_config(), env=plugin_env(mc_plugin))
    alice = h.add_member("alice")
    assert await h.say(alice, "!verify abc123") == \
        "Verified! Your Discord account is now linked to **Steve** in Minecraft."
    [call] = mc_plugin.calls("/api/verify")
    assert call.authorized and call.body == {"code": "ABC123", "discord_id": str(alice.id)}
    assert await h.say(alice, "!verify NOPE") == "Verification failed: Invalid or expired code"
    assert await h.say(alice, "!verify") == \
        "Usage: `!verify <code>` — get your code by running `/verify` in Minecraft."


async def test_verify_with_the_plugin_down_or_the_secret_missing(harness_factory: Any,
                                                                mc_plugin: McPluginStandIn) -> None:
    down = await harness_factory(config_extra=minecraft_config(),
                                 env={"MC_VERIFY_URL": f"http://127.0.0.1:{free_port()}", "MC_VERIFY_SECRET": "s"})
    alice = down.add_member("alice")
    answer = await down.say(alice, "!verify ABC123")
    assert answer.startswith("Could not reach the MC server: cannot connect"), answer
    unset = await harness_factory(config_extra=minecraft_config(), env={"MC_VERIFY_URL": mc_plugin.url})
    bob = unset.add_member("bob")
    assert await unset.say(bob, "!verify ABC123") == "MC verification is not configured. Set `MC_VERIFY_SECRET` in .env"
    assert mc_plugin.received == []


async def test_verify_switched_off_is_silent_and_the_root_shows_in_usage(harness_factory: Any,
                                                                        mc_plugin: McPluginStandIn) -> None:
    h: FeatureHarness = await harness_factory(config_extra='command_root = "m"\n' + minecraft_config(verify=False),
                                              env=plugin_env(mc_plugin))
    alice = h.add_member("alice")
    await h.send(alice, "!m verify ABC123")
    assert await h.say(alice, "!m ping")  # answered after the verify: the verify was seen and ignored
    assert mc_plugin.received == []
    assert "verify" not in str((await h.say_message(alice, "!m help")).embeds[0]["fields"])
    await h.edit_config('bot_name = "Bot Bot"\ncommand_prefix = "!"\ncommand_root = "m"\n' + minecraft_config())
    assert await h.say(alice, "!m verify") == \
        "Usage: `!m verify <code>` — get your code by running `/verify` in Minecraft."
    assert "`!m verify <code>`" in str((await h.say_message(alice, "!m help")).embeds[0]["fields"])


# -- chargeback ------------------------------------------------------------------------------------------------
@dataclass
class ChargebackWorld:
    h: FeatureHarness
    plugin: McPluginStandIn
    staff_role: Role
    restricted: Role
    vip: Role
    staff_channel: Any
    moderator: Any
    player: Any
    bystander: Any
    instance_url: str
    fleet_url: str

    def alerts(self) -> list[Message]:
        return [m for m in self.h.emu.messages(self.staff_channel)
                if m.embeds and m.embeds[0].get("title") == "⚠️ CHARGEBACK ALERT"]

    async def chargeback(self, uuid: str, discord_id: int | None, url: str | None = None) -> tuple[int, Any]:
        payload = {"uuid": uuid, "username": "Notch", "tier": "premium", "timestamp": "2026-12-07T06:00:00Z",
                   "discord_id": str(discord_id) if discord_id else None}
        return await post_webhook(url or self.instance_url, payload, self.plugin.secret)


@pytest_asyncio.fixture
async def cb(harness_factory: Any, mc_plugin: McPluginStandIn) -> AsyncIterator[ChargebackWorld]:
    port = free_port()
    h: FeatureHarness = await harness_factory(config_extra=minecraft_config(),
                                              env=plugin_env(mc_plugin, MCP_PORT=str(port)))
    emu = h.emu
    staff_role = emu.create_role(h.guild, "Moderator", 0, position=3)
    restricted = emu.create_role(h.guild, "Restricted", 0, position=1)
    vip = emu.create_role(h.guild, "VIP", 0, position=2)
    staff_channel = emu.create_channel(h.guild, "staff")
    moderator = h.add_member("mod", roles=[staff_role])
    player = h.add_member("player", roles=[vip])
    bystander = h.add_member("bystander", permissions=int(P.BAN_MEMBERS))  # may ban, but holds no staff role
    config = minecraft_config(staff_channel=staff_channel.id, restricted=restricted, staff=[staff_role])
    assert await h.edit_config(f'bot_name = "Bot Bot"\ncommand_prefix = "!"\ncommand_root = ""\n{config}') == \
        "applied live"
    # The fleet endpoint too, with its route to this instance's webhook.
    fleet = SimpleNamespace(runners={h.name: h.runner})
    router = McpRouter(fleet)

    async def list_tools() -> list[dict[str, Any]]:
        return tool_listing()

    async def call_tool(name: str, arguments: dict[str, Any] | None) -> tuple[str, bool]:
        outcome = await router.call(name, arguments)
        return outcome.text, outcome.is_error

    service = McpHttpService(McpListen("127.0.0.1", free_port(), "fleet-token"), list_tools, call_tool,
                             webhooks=fleet_resolver(lambda: fleet.runners))
    await service.start()
    try:
        yield ChargebackWorld(h, mc_plugin, staff_role, restricted, vip, staff_channel, moderator, player,
                              bystander, f"http://127.0.0.1:{port}/webhook/chargeback",
                              f"http://127.0.0.1:{service.listen.port}/instances/{h.name}/webhook/chargeback")
    finally:
        await service.stop()


async def test_a_wrong_or_missing_secret_is_401_and_changes_nothing(cb: ChargebackWorld) -> None:
    payload = {"uuid": LINKED_UUID, "username": "Notch", "tier": "premium", "timestamp": "t",
               "discord_id": str(cb.player.id)}
    assert (await post_webhook(cb.instance_url, payload, "wrong"))[0] == 401
    assert (await post_webhook(cb.instance_url, payload, None)) == (401, {"error": "Unauthorized"})
    assert (await post_webhook(cb.fleet_url, payload, "fleet-token"))[0] == 401  # the MCP token is not the secret
    assert cb.h.emu.member_roles(cb.h.guild, cb.player) == [cb.vip.id]
    assert cb.alerts() == []


async def test_a_linked_player_is_restricted_and_staff_ban_them_in_discord_and_minecraft(
        cb: ChargebackWorld) -> None:
    h = cb.h
    assert await cb.chargeback(LINKED_UUID, cb.player.id) == (200, {"success": True})
    assert h.emu.member_roles(h.guild, cb.player) == [cb.restricted.id]
    assert h.emu.audit_reasons(h.guild)[-1] == "Chargeback: roles stripped, user restricted"
    [alert] = cb.alerts()
    embed = alert.embeds[0]
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Player", "Notch"), ("Tier", "Premium"), ("Discord", f"<@{cb.player.id}> ({cb.player.id})"),
        ("MC UUID", LINKED_UUID), ("Time", "2026-12-07T06:00:00Z")]
    assert embed["footer"]["text"] == "All roles stripped. User restricted."
    assert [b["label"] for row in alert.components for b in row["components"]] == ["🔨 Ban", "❌ Dismiss"]

    refused = await h.press(alert, cb.bystander, "🔨 Ban")
    assert [m.content for m in refused.ephemeral_replies] == ["You don't have permission to do this."]
    assert cb.player.id not in h.emu.bans(h.guild) and cb.plugin.calls("/api/ban") == []

    await h.press(alert, cb.moderator, "🔨 Ban")
    await eventually(lambda: not h.emu.current_message(alert).components)
    assert h.emu.bans(h.guild)[cb.player.id] == "Chargeback ban by mod"
    [ban] = cb.plugin.calls("/api/ban")
    assert ban.authorized and ban.body == {"uuid": LINKED_UUID,
                                           "reason": "Chargeback ban issued by Discord staff (mod)"}
    closed = h.emu.current_message(alert).embeds[0]
    assert closed["footer"]["text"] == "Banned by mod" and closed["fields"][3]["value"] == LINKED_UUID


async def test_dismiss_closes_the_alert_and_a_failed_mc_ban_is_reported(cb: ChargebackWorld) -> None:
    h = cb.h
    # Through the fleet endpoint this time: the same webhook, reached by instance name.
    assert await cb.chargeback(UNLINKED_UUID, None, url=cb.fleet_url) == (200, {"success": True})
    assert await cb.chargeback(LINKED_UUID, cb.player.id) == (200, {"success": True})
    unlinked, linked = cb.alerts()
    assert unlinked.embeds[0]["footer"]["text"] == "No Discord account linked. MC-side actions only."
    assert unlinked.embeds[0]["fields"][2]["value"] == "Not linked"
    await h.press(linked, cb.moderator, "❌ Dismiss")
    await eventually(lambda: not h.emu.current_message(linked).components)
    assert h.emu.current_message(linked).embeds[0]["footer"]["text"] == "Dismissed by mod"
    assert cb.player.id not in h.emu.bans(h.guild)
    assert h.emu.member_roles(h.guild, cb.player) == [cb.restricted.id]  # dismissing restores nothing

    cb.plugin.ban_status = 503
    assert [b["label"] for row in unlinked.components for b in row["components"]] == ["🔨 Ban MC", "❌ Dismiss"]
    await h.press(unlinked, cb.moderator, "🔨 Ban MC")
    notice = await h.emu.wait_for_bot_message(lambda m: m.content.startswith("⚠️ MC ban failed"), bot=h.bot_user)
    assert notice.content == f"⚠️ MC ban failed for UUID `{UNLINKED_UUID}`: HTTP 503 player store offline"
    assert notice.channel_id == cb.staff_channel.id
    await eventually(lambda: not h.emu.current_message(unlinked).components)
    assert h.emu.current_message(unlinked).embeds[0]["footer"]["text"] == "Banned by mod"


async def test_bad_payload_is_400_and_a_missing_staff_channel_is_500(cb: ChargebackWorld) -> None:
    status, answer = await post_webhook(cb.instance_url, {"uuid": LINKED_UUID}, cb.plugin.secret)
    assert status == 400 and answer == {"success": False, "error": "missing string field `username`"}
    cb.h.emu.delete_channel(cb.staff_channel)
    await eventually(lambda: cb.h.bot.get_channel(cb.staff_channel.id) is None)
    assert await cb.chargeback(LINKED_UUID, cb.player.id) == (500, {"success": False,
                                                                   "error": "Server config error"})


# -- donator sync ----------------------------------------------------------------------------------------------
async def test_donator_sync_adds_and_removes_roles_and_calls_discord_only_for_changes(
        harness_factory: Any, mc_plugin: McPluginStandIn) -> None:
    h: FeatureHarness = await harness_factory(config_extra=minecraft_config(), env=plugin_env(mc_plugin))
    emu = h.emu
    supporter = emu.create_role(h.guild, "Supporter", 0, position=2)
    premium = emu.create_role(h.guild, "Premium", 0, position=3)
    restricted = emu.create_role(h.guild, "Restricted", 0, position=1)
    members = [h.add_member(f"m{i:04}") for i in range(1000)]
    keep_s, keep_p, upgrade, downgrade, expire_s, expire_p, new_s, new_p, held = members[:9]
    for member, role in ((keep_s, supporter), (keep_p, premium), (upgrade, supporter), (downgrade, premium),
                         (expire_s, supporter), (expire_p, premium)):
        emu.set_member_roles(h.guild, member, [role])
    emu.set_member_roles(h.guild, held, [restricted, supporter])  # charged back: left alone
    mc_plugin.donators = [(str(keep_s.id), "supporter"), (str(keep_p.id), "premium"), (str(upgrade.id), "premium"),
                          (str(downgrade.id), "supporter"), (str(new_s.id), "supporter"),
                          (str(new_p.id), "premium"), (str(held.id), "premium"), ("42", "supporter"),
                          (str(members[500].id), "diamond")]
    config = minecraft_config(supporter=supporter, premium=premium)
    config += (f'[minecraft.chargeback_config]\nstaff_channel = "{h.channel.id}"\n'
               f'restricted_role = "{restricted.id}"\nstaff_roles = []\n')
    assert await h.edit_config(f'bot_name = "Bot Bot"\ncommand_prefix = "!"\ncommand_root = ""\n{config}') == \
        "applied live"
    await eventually(lambda: len(h.bot.get_guild(h.guild.id).members) >= 1001, timeout=30)
    cog = h.bot.get_cog("Minecraft")
    job = cog.sync_job

    async def sync_once() -> int:
        before = len([r for r in emu.requests if r.token == h.token])
        rounds = job.rounds
        job.wake()
        await eventually(lambda: job.rounds > rounds, timeout=30)
        return len([r for r in emu.requests if r.token == h.token]) - before

    calls = await sync_once()
    roles = {m.id: set(emu.member_roles(h.guild, m)) for m in members[:9]}
    assert roles == {keep_s.id: {supporter.id}, keep_p.id: {premium.id}, upgrade.id: {premium.id},
                     downgrade.id: {supporter.id}, expire_s.id: set(), expire_p.id: set(),
                     new_s.id: {supporter.id}, new_p.id: {premium.id}, held.id: {restricted.id, supporter.id}}
    changed = 8  # upgrade 2, downgrade 2, two expiries, two new donators
    assert calls == changed, [r for r in emu.requests if r.token == h.token][-calls:]
    reasons = emu.audit_reasons(h.guild)
    for reason in ("Donator sync: upgraded to premium", "Donator sync: downgraded to supporter",
                   "Donator sync: supporter expired", "Donator sync: premium expired",
                   "Donator sync: supporter tier", "Donator sync: premium tier"):
        assert reason in reasons
    assert await sync_once() == 0  # nothing changed: not one Discord call, for 1,000 members
    assert all(not c.body and c.authorized for c in mc_plugin.calls("/api/donators"))


# -- through the daemon ------------------------------------------------------------------------------------------
@pytest.mark.e2e
async def test_the_daemons_mcp_endpoint_routes_a_chargeback_to_its_instance(
        emu: Any, instances: Any, database_url: str, schemas: list[str], unique: Any, tmp_path: Any,
        mc_plugin: McPluginStandIn) -> None:
    owner = emu.create_user("mc-owner")
    guild = emu.create_guild("mc guild", owner)
    channel = emu.create_channel(guild, "staff")
    restricted = emu.create_role(guild, "Restricted", 0, position=1)
    staff = emu.create_role(guild, "Staff", 0, position=2)
    config = minecraft_config(staff_channel=channel.id, restricted=restricted, staff=[staff])
    bot = add_bot(emu, instances, "mc", prefix="!", schema=unique("mc_daemon"), database_url=database_url,
                  config_extra=config, guild=guild, owner=owner)
    schemas.append(bot.schema)
    with (bot.folder / ".env").open("a") as env:
        env.write(f"MC_VERIFY_URL={mc_plugin.url}\nMC_VERIFY_SECRET={mc_plugin.secret}\n")
    port = free_port()
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--mcp-listen", f"127.0.0.1:{port}"))
    await daemon.start()
    try:
        await daemon.wait_running("mc")
        base = f"http://127.0.0.1:{port}/instances"
        payload = {"uuid": UNLINKED_UUID, "username": "Notch", "tier": "supporter", "timestamp": "t"}
        assert (await post_webhook(f"{base}/mc/webhook/chargeback", payload, "wrong"))[0] == 401
        assert await post_webhook(f"{base}/nope/webhook/chargeback", payload, mc_plugin.secret) == \
            (404, {"error": "Not Found"})
        assert await post_webhook(f"{base}/mc/webhook/chargeback", payload, mc_plugin.secret) == \
            (200, {"success": True})
        alert = await emu.wait_for_bot_message(lambda m: bool(m.embeds), channel=channel, bot=bot.bot_user)
        assert alert.embeds[0]["title"] == "⚠️ CHARGEBACK ALERT"
        assert alert.embeds[0]["fields"][3] == {"name": "MC UUID", "value": UNLINKED_UUID, "inline": False}
    finally:
        code = await daemon.stop()
    assert code == 0, daemon.stderr_text[-3000:]
    assert mc_plugin.secret not in daemon.stderr_text
