"""Moderation: the real InstanceRunner in-process (the FeatureHarness), the emulator as Discord, rows in a real
Postgres.

Every test looks at what a user would see: the bot's reply, the ban (or kick, timeout, deletion) in the
emulator's state, the audit embed in the log channel, the tempban row in the instance's schema, and where a
failure is the point, the log event an operator would read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from supervisor.emulator import Channel, Emulator, P, Role, User
from supervisor.emulator.models import Message
from tests.support import FeatureHarness, eventually

MOD_PERMS = int(P.BAN_MEMBERS | P.KICK_MEMBERS | P.MODERATE_MEMBERS | P.MANAGE_MESSAGES)
FAST_SWEEP = "[moderation]\nsweep_interval = 0.5\n"
BANS_ROUTE = "/guilds/{guild_id}/bans/{user_id}"


@dataclass
class Server:
    """One bot's guild, peopled: moderators under a senior moderator under the bot, and plain members."""

    emu: Emulator
    bot: FeatureHarness  # the instance, run in-process: its guild, owner, schema, log events
    prefix: str
    log_channel: Channel
    mod_role: Role
    senior: User
    vip: User  # top role above the bot's
    admin: User  # ADMINISTRATOR, ranked below the moderators
    plain: User  # no permissions at all
    mods: list[User] = field(default_factory=list)
    members: list[User] = field(default_factory=list)

    @property
    def guild_id(self) -> int:
        return self.bot.guild.id

    def add_members(self, count: int, label: str = "m") -> list[User]:
        users = []
        for _ in range(count):
            user = self.emu.create_user(f"{self.bot.name}-{label}{len(self.members) + 1}")
            self.emu.add_member(self.bot.guild, user)
            self.members.append(user)
            users.append(user)
        return users

    def add_mods(self, count: int) -> list[User]:
        users = []
        for _ in range(count):
            user = self.emu.create_user(f"{self.bot.name}-mod{len(self.mods) + 1}")
            self.emu.add_member(self.bot.guild, user, [self.mod_role])
            self.mods.append(user)
            users.append(user)
        return users

    async def send(self, author: User, text: str, channel: Channel | None = None) -> Message:
        return await self.emu.send_message(channel or self.bot.channel, author, text)

    async def reply_to(self, sent: Message, timeout: float = 5.0) -> Message:
        return await self.emu.wait_for_bot_message(lambda m: m.reference_id == sent.id, bot=self.bot.bot_user,
                                                   timeout=timeout)

    async def say(self, author: User, text: str, channel: Channel | None = None) -> str:
        """What the bot answers `author` typing `text`: the reply's content, or its embed's description."""
        reply = await self.reply_to(await self.send(author, text, channel))
        if reply.content:
            return reply.content
        return reply.embeds[0].get("description", "") if reply.embeds else ""

    async def reply_embed(self, author: User, text: str) -> dict[str, Any]:
        reply = await self.reply_to(await self.send(author, text))
        assert reply.embeds, reply.content
        return reply.embeds[0]

    async def audit(self, title: str, timeout: float = 5.0) -> dict[str, str]:
        """The next audit embed titled `title` in the log channel, as {field name: value}."""
        message = await self.emu.wait_for_bot_message(
            lambda m: bool(m.embeds) and m.embeds[0].get("title") == f"Mod Action: {title}",
            channel=self.log_channel, bot=self.bot.bot_user, timeout=timeout)
        return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


MakeHarness = Callable[..., Awaitable[FeatureHarness]]


async def build_server(harness_factory: MakeHarness, name: str, prefix: str, config_extra: str = FAST_SWEEP) -> Server:
    """The guild is peopled before the bot connects, as when a daemon starts on an existing server."""
    bot = await harness_factory(name=name, prefix=prefix, config_extra=config_extra, wait=False)
    emu = bot.emu
    guild = bot.guild
    log_channel = emu.create_channel(guild, "mod-log")
    mod_role = emu.create_role(guild, "mod", MOD_PERMS, position=5)
    senior_role = emu.create_role(guild, "senior", MOD_PERMS, position=8)
    vip_role = emu.create_role(guild, "vip", 0, position=12)
    admin_role = emu.create_role(guild, "admin", int(P.ADMINISTRATOR), position=3)
    people = {}
    for label, roles in (("senior", [senior_role]), ("vip", [vip_role]), ("admin", [admin_role]), ("plain", [])):
        people[label] = emu.create_user(f"{name}-{label}")
        emu.add_member(guild, people[label], roles)
    server = Server(emu, bot, prefix, log_channel, mod_role, people["senior"], people["vip"], people["admin"],
                    people["plain"])
    server.add_mods(1)
    server.add_members(3)
    await bot.wait_running()
    return server


async def set_log_channel(server: Server) -> None:
    reply = await server.say(server.bot.owner, f"{server.prefix}setlog <#{server.log_channel.id}>")
    assert reply == f"Audit log channel set to <#{server.log_channel.id}>."


async def tempban_rows(database_url: str, schema: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetch(f'SELECT * FROM "{schema}".tempbans ORDER BY id')
    finally:
        await connection.close()


@pytest.fixture
async def server(harness_factory: MakeHarness) -> Server:
    """One moderated guild, its instance running in-process, the audit log set to #mod-log."""
    world = await build_server(harness_factory, "alpha", "!")
    await set_log_channel(world)
    return world


# --- tempbans -------------------------------------------------------------------------------------------


async def test_tempban_is_lifted_after_expiry_with_an_audit_entry_for_each(server: Server,
                                                                         database_url: str) -> None:
    emu, mod, target = server.emu, server.mods[0], server.members[0]
    reply = await server.say(mod, f"!ban <@{target.id}> 3s spamming links")
    assert re.fullmatch(rf"Banned \*\*{target.username}\*\* for \*\*3s\*\*\. Expires <t:\d+:R>\.\n"
                        r"Reason: spamming links", reply), reply
    assert target.id in emu.bans(server.guild_id)
    assert emu.member(server.guild_id, target) is None
    banned = await server.audit("Tempban")
    assert banned["User"] == f"{target.username} ({target.id})"
    assert banned["Moderator"] == f"{mod.username} ({mod.id})"
    assert banned["Duration"] == "3s" and banned["Reason"] == "spamming links"
    [row] = await tempban_rows(database_url, server.bot.schema)
    assert (row["guild_id"], row["user_id"], row["moderator_id"]) == (
        str(server.guild_id), str(target.id), str(mod.id))
    assert row["unbanned"] is False and row["reason"] == "spamming links"
    # Discord's ban reason names the row: the sweep lifts only a ban that is still this one.
    assert emu.bans(server.guild_id)[target.id] == f"Tempban #{row['id']} by {mod.username} (3s): spamming links"

    listed = await server.reply_embed(mod, "!banlist")
    assert listed["title"] == "Active Tempbans"
    assert f"<@{target.id}> — expires <t:" in listed["description"]
    assert f"(by <@{mod.id}>, reason: spamming links)" in listed["description"]

    lifted = await server.audit("Tempban expired", timeout=15)
    assert lifted["User"] == f"<@{target.id}> ({target.id})" and lifted["Reason"] == "spamming links"
    assert target.id not in emu.bans(server.guild_id)
    assert emu.audit_reasons(server.guild_id, "member_ban_remove") == ["Tempban expired"]
    [row] = await tempban_rows(database_url, server.bot.schema)
    assert row["unbanned"] is True
    assert await server.say(mod, "!banlist") == "No active tempbans."


async def test_ban_refusals_are_explained_and_change_nothing(server: Server, database_url: str) -> None:
    emu, mod, bot, target = server.emu, server.mods[0], server.bot, server.members[0]
    [other_mod] = server.add_mods(1)
    cases = [
        (server.plain, f"!ban <@{target.id}> 1h", "You need the Ban Members permission to use this."),
        (mod, f"!ban <@{mod.id}> 1h", "You can't ban yourself."),
        (mod, f"!ban <@{bot.bot_user.id}> 1h", "I can't ban myself."),
        (mod, f"!ban <@{bot.owner.id}> 1h", "You can't ban the server owner."),
        (mod, f"!ban <@{other_mod.id}> 1h",
         f"You can't ban **{other_mod.username}**: their highest role is not below yours."),
        (mod, f"!ban <@{server.senior.id}> 1h",
         f"You can't ban **{server.senior.username}**: their highest role is not below yours."),
        (bot.owner, f"!ban <@{server.vip.id}> 1h",
         f"I can't ban **{server.vip.username}**: their highest role is not below mine."),
        (mod, f"!ban <@{target.id}> soon", "Invalid duration. Use: `30s`, `5m`, `2h`, `3d`, `1w`"),
        (mod, f"!ban <@{target.id}> 0s", "Invalid duration. Use: `30s`, `5m`, `2h`, `3d`, `1w`"),
        (mod, f"!ban <@{target.id}> 366d", "A tempban can last at most 365 days; use `perm` for a permanent ban."),
        (mod, "!ban 123456789 1h", "I can't find the member '123456789' in this server."),
        (mod, "!ban", "Usage: `!ban <member> <duration|perm> [reason]`"),
    ]
    for author, command, expected in cases:
        assert await server.say(author, command) == expected, command
    assert emu.bans(server.guild_id) == {}
    assert await tempban_rows(database_url, server.bot.schema) == []
    # The senior moderator outranks the moderator: the same ban the other way round lands.
    assert (await server.say(server.senior, f"!ban <@{mod.id}> 52w")).startswith(f"Banned **{mod.username}**")
    assert list(emu.bans(server.guild_id)) == [mod.id]
    # A bot whose role lost Ban Members says so instead of trying.
    emu.set_member_roles(server.guild_id, bot.bot_user, [])
    await eventually(lambda: _answers(server, server.senior, f"!ban <@{target.id}> 1h",
                                      "I need the Ban Members permission for that."))
    assert list(emu.bans(server.guild_id)) == [mod.id]


async def _answers(server: Server, author: User, command: str, expected: str) -> bool:
    return await server.say(author, command) == expected


async def test_a_ban_discord_refuses_leaves_no_row(server: Server, database_url: str) -> None:
    emu, mod, target = server.emu, server.mods[0], server.members[0]
    emu.fail_next("PUT", BANS_ROUTE, 403, code=50013, message="Missing Permissions")
    reply = await server.say(mod, f"!ban <@{target.id}> 1h")
    assert reply == f"Discord refused to ban **{target.username}**; nothing was recorded."
    assert emu.bans(server.guild_id) == {}
    assert await tempban_rows(database_url, server.bot.schema) == []
    assert emu.member(server.guild_id, target) is not None


async def test_permanent_ban_and_unban(server: Server, database_url: str) -> None:
    emu, mod, (first, second, _) = server.emu, server.mods[0], server.members
    reply = await server.say(mod, f"!ban <@{first.id}> perm raiding")
    assert reply == f"Banned **{first.username}** permanently.\nReason: raiding"
    assert (await server.audit("Ban"))["Duration"] == "permanently"
    assert await tempban_rows(database_url, server.bot.schema) == []  # nothing for the sweep to lift
    assert await server.say(mod, f"!unban {first.id}") == (
        f"Unbanned **{first.username}**. (No active tempban was found in the database.)")
    unbanned = await server.audit("Unban")
    assert unbanned == {"User": f"{first.username} ({first.id})", "Moderator": f"{mod.username} ({mod.id})"}
    assert first.id not in emu.bans(server.guild_id)
    assert await server.say(mod, f"!unban {first.id}") == f"**{first.username}** is not banned."

    # Lifting a tempban by hand closes its row: the sweep has nothing left to do.
    assert (await server.say(mod, f"!ban <@{second.id}> 1w")).startswith(f"Banned **{second.username}**")
    assert await server.say(mod, f"!unban <@{second.id}>") == f"Unbanned **{second.username}**."
    [row] = await tempban_rows(database_url, server.bot.schema)
    assert row["user_id"] == str(second.id) and row["unbanned"] is True
    assert emu.bans(server.guild_id) == {}
    assert await server.say(server.plain, f"!unban {first.id}") == (
        "You need the Ban Members permission to use this.")


async def test_a_new_ban_replaces_a_pending_tempban(server: Server, database_url: str) -> None:
    emu, mod, target = server.emu, server.mods[0], server.members[0]
    assert (await server.say(mod, f"!ban <@{target.id}> 1w")).startswith("Banned")
    emu.unban(server.guild_id, target, server.bot.owner, "lifted in Discord's own UI")
    emu.add_member(server.guild_id, target)  # came back
    assert (await server.say(mod, f"!ban <@{target.id}> perm")).startswith("Banned")
    rows = await tempban_rows(database_url, server.bot.schema)
    assert [r["unbanned"] for r in rows] == [True]  # the old tempban can never lift the permanent ban
    assert await server.say(mod, "!banlist") == "No active tempbans."


# --- sweeping -----------------------------------------------------------------------------------------


async def test_tempban_expired_while_the_instance_was_down_is_lifted_at_the_next_start(
        harness_factory: MakeHarness, database_url: str) -> None:
    # An hour between sweeps: only the sweep right after a start can lift anything within this test.
    server = await build_server(harness_factory, "alpha", "!", config_extra="[moderation]\nsweep_interval = 3600\n")
    emu, target = server.emu, server.members[0]
    await set_log_channel(server)
    assert (await server.say(server.mods[0], f"!ban <@{target.id}> 2s")).startswith("Banned")
    await server.audit("Tempban")
    await server.bot.stop()  # as at a daemon shutdown: the bot disconnects, its sweeper ends
    assert not emu.connected(server.bot.token)
    [row] = await tempban_rows(database_url, server.bot.schema)
    await eventually(lambda: dt.datetime.now(dt.UTC) > row["expires_at"])
    assert target.id in emu.bans(server.guild_id)  # nobody is running to lift it

    mark = server.bot.logs.mark()
    await server.bot.start()
    lifted = await server.audit("Tempban expired", timeout=15)
    assert lifted["User"] == f"<@{target.id}> ({target.id})"
    assert target.id not in emu.bans(server.guild_id)
    assert (await tempban_rows(database_url, server.bot.schema))[0]["unbanned"] is True
    [entry] = server.bot.log_events(lambda e: e.get("event") == "tempban_lifted", start=mark)
    assert entry["instance"] == "alpha" and entry["user_id"] == target.id


async def test_unban_that_discord_fails_stays_pending_and_is_retried(server: Server, database_url: str) -> None:
    emu, target = server.emu, server.members[0]
    # Every unban fails until we say otherwise: discord.py retries a 500 inside one call, so "times" is large.
    emu.fail_next("DELETE", f"/guilds/{server.guild_id}/bans/{target.id}", 500, times=1000)
    assert (await server.say(server.mods[0], f"!ban <@{target.id}> 1s")).startswith("Banned")
    for attempt in (1, 2):
        failed = await server.bot.wait_log(lambda e, n=attempt: e.get("event") == "tempban_unban_failed"
                                           and e.get("attempt") == n, timeout=20)
        assert failed["instance"] == "alpha" and failed["user_id"] == target.id and failed["level"] == "warning"
        [row] = await tempban_rows(database_url, server.bot.schema)
        assert row["unbanned"] is False  # never marked done while Discord fails
        assert target.id in emu.bans(server.guild_id)
    assert emu.count_requests("DELETE", BANS_ROUTE) >= 2
    listed = await server.say(server.mods[0], "!banlist")  # still banned, and the list says so
    assert re.match(rf"<@{target.id}> — expired <t:\d+:R>, being lifted \(by <@{server.mods[0].id}>\)$", listed)
    emu.clear_faults()  # Discord recovers

    lifted = await server.audit("Tempban expired", timeout=20)
    assert lifted["User"] == f"<@{target.id}> ({target.id})"
    assert target.id not in emu.bans(server.guild_id)
    [row] = await tempban_rows(database_url, server.bot.schema)
    assert row["unbanned"] is True
    assert emu.audit_reasons(server.guild_id, "member_ban_remove") == ["Tempban expired"]


async def test_an_unban_in_discord_closes_the_tempban(server: Server, database_url: str) -> None:
    emu, target = server.emu, server.members[0]
    assert (await server.say(server.mods[0], f"!ban <@{target.id}> 1h")).startswith("Banned")
    emu.unban(server.guild_id, target, server.bot.owner, "lifted in Discord's own UI")
    await server.bot.wait_log(lambda e: e.get("event") == "tempban_closed_unbanned_in_discord")
    assert (await tempban_rows(database_url, server.bot.schema))[0]["unbanned"] is True
    assert await server.say(server.mods[0], "!banlist") == "No active tempbans."


# --- kick, timeout, nuke ------------------------------------------------------------------------------


async def test_kick(server: Server) -> None:
    emu, mod, target = server.emu, server.mods[0], server.members[0]
    assert await server.say(server.plain, f"!kick <@{target.id}>") == (
        "You need the Kick Members permission to use this.")
    assert await server.say(mod, f"!kick <@{server.senior.id}>") == (
        f"You can't kick **{server.senior.username}**: their highest role is not below yours.")
    assert await server.say(mod, f"!kick <@{server.bot.owner.id}>") == "You can't kick the server owner."
    assert emu.kicked(server.guild_id) == []

    assert await server.say(mod, f"!kick <@{target.id}> too loud") == (
        f"Kicked **{target.username}**.\nReason: too loud")
    assert emu.kicked(server.guild_id) == [target.id]
    assert emu.audit_reasons(server.guild_id, "member_kick") == [f"Kick by {mod.username}: too loud"]
    assert await server.audit("Kick") == {"User": f"{target.username} ({target.id})",
                                          "Moderator": f"{mod.username} ({mod.id})", "Reason": "too loud"}


async def test_timeout_and_untimeout(server: Server) -> None:
    emu, mod, target = server.emu, server.mods[0], server.members[0]
    refusals = [
        (server.plain, f"!timeout <@{target.id}> 10m", "You need the Moderate Members permission to use this."),
        (mod, f"!timeout <@{target.id}> 29d", "Discord allows a timeout of at most 28 days."),
        (mod, f"!timeout <@{target.id}> later", "Invalid duration. Use: `30s`, `5m`, `2h`, `3d`, `1w`"),
        (mod, f"!timeout <@{server.senior.id}> 10m",
         f"You can't time out **{server.senior.username}**: their highest role is not below yours."),
        (mod, f"!timeout <@{server.admin.id}> 10m",
         f"You can't time out **{server.admin.username}**: Discord never times out administrators."),
        (mod, f"!untimeout <@{target.id}>", f"**{target.username}** is not timed out."),
    ]
    for author, command, expected in refusals:
        assert await server.say(author, command) == expected, command
    assert emu.timeout_until(server.guild_id, target) is None

    before = dt.datetime.now(dt.UTC)
    reply = await server.say(mod, f"!timeout <@{target.id}> 28d flooding")
    assert re.fullmatch(rf"Timed out \*\*{target.username}\*\* for \*\*28d\*\*\. Ends <t:\d+:R>\.\n"
                        r"Reason: flooding", reply), reply
    until = emu.timeout_until(server.guild_id, target)
    assert until is not None and before + dt.timedelta(days=27) < until <= before + dt.timedelta(days=28, minutes=1)
    assert await server.audit("Timeout") == {"User": f"{target.username} ({target.id})",
                                             "Moderator": f"{mod.username} ({mod.id})", "Duration": "28d",
                                             "Reason": "flooding"}
    # The reason reaches Discord's own audit log too (the original dropped it).
    assert emu.audit_reasons(server.guild_id, "member_update") == [f"Timeout by {mod.username}: flooding"]

    assert await server.say(server.plain, f"!untimeout <@{target.id}>") == (
        "You need the Moderate Members permission to use this.")
    assert await server.say(mod, f"!untimeout <@{target.id}>") == f"Removed the timeout of **{target.username}**."
    assert emu.timeout_until(server.guild_id, target) is None
    assert (await server.audit("Untimeout"))["User"] == f"{target.username} ({target.id})"


async def test_nuke_deletes_exactly_n_and_counts_what_is_too_old(server: Server) -> None:
    emu, mod, author = server.emu, server.mods[0], server.members[0]
    for invoker, command, expected in (
        (server.plain, "!nuke 5", "You need the Manage Messages permission to use this."),
        (mod, "!nuke 0", "Usage: `!nuke <1-100>`"), (mod, "!nuke 101", "Usage: `!nuke <1-100>`"),
        (mod, "!nuke lots", "Usage: `!nuke <1-100>`"),
    ):
        assert await server.say(invoker, command) == expected
    assert emu.deleted_message_ids() == []

    channel = emu.create_channel(server.bot.guild, "spam")
    old_time = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    old = [await emu.send_message(channel, author, f"old {i}", timestamp=old_time + dt.timedelta(seconds=i))
           for i in range(3)]
    young = [await server.send(author, f"young {i}", channel) for i in range(8)]

    command = await server.send(mod, "!nuke 5", channel)
    notice = await emu.wait_for_bot_message(channel=channel)
    assert notice.content == "Deleted **5** messages."
    assert sorted(emu.deleted_message_ids(channel)) == sorted([*(m.id for m in young[-5:]), command.id])
    assert (await server.audit("Nuke"))["Messages Deleted"] == "5"
    await eventually(lambda: notice.id in emu.deleted_message_ids(channel))  # the notice cleans itself up
    assert [m.id for m in emu.messages(channel)] == [m.id for m in old + young[:3]]

    # Fewer messages than asked for, three of them too old for a bulk delete: those stay, and the bot says so.
    command = await server.send(mod, "!nuke 100", channel)
    notice = await emu.wait_for_bot_message(channel=channel)
    assert notice.content == "Deleted **3/6** messages; **3** older than 14 days can't be bulk-deleted."
    assert [m.id for m in emu.messages(channel)] == [m.id for m in old] + [notice.id]
    assert command.id in emu.deleted_message_ids(channel)
    assert (await server.audit("Nuke"))["Messages Deleted"] == "3"


async def test_nuke_100_stays_within_discords_bulk_delete_limit(server: Server) -> None:
    emu, mod = server.emu, server.mods[0]
    channel = emu.create_channel(server.bot.guild, "flood")
    flood = [await server.send(server.members[0], f"flood {i}", channel) for i in range(105)]
    command = await server.send(mod, "!nuke 100", channel)
    notice = await emu.wait_for_bot_message(channel=channel)
    assert notice.content == "Deleted **100** messages."  # the original fetched 101 and Discord refused
    assert [m.id for m in emu.messages(channel)] == [m.id for m in flood[:5]] + [notice.id]
    assert command.id in emu.deleted_message_ids(channel)


# --- settings and the audit log -----------------------------------------------------------------------


async def test_guild_settings_commands(server: Server) -> None:
    emu, owner = server.emu, server.bot.owner
    for command in ("!setlog #general", "!djrole @dj", "!djmode", "!settings"):
        assert await server.say(server.mods[0], command) == "You need the Administrator permission to use this."
    assert await server.say(owner, "!djmode") == "Set a DJ role first with `!djrole @role`."
    dj = emu.create_role(server.bot.guild, "dj", 0, position=2)
    assert await server.say(owner, f"!djrole <@&{dj.id}>") == "DJ role set to **dj**."
    assert await server.say(owner, "!djmode") == (
        "DJ mode **enabled**. Only users with the DJ role (or admins) can use music commands.")
    assert await server.say(server.admin, "!djmode") == "DJ mode **disabled**. Everyone can use music commands."
    assert await server.say(owner, "!djmode") == (
        "DJ mode **enabled**. Only users with the DJ role (or admins) can use music commands.")
    assert await server.say(owner, "!setlog #nowhere") == "I can't find the channel '#nowhere'."

    settings = await server.reply_embed(owner, "!settings")
    fields = {f["name"]: f["value"] for f in settings["fields"]}
    assert fields == {"Audit log": f"<#{server.log_channel.id}>", "DJ role": f"<@&{dj.id}>",
                      "DJ mode": "enabled", "Tempban sweep": "at each expiry; safety sweep every 0.5s",
                      "Active tempbans (0)": "none"}


async def test_banlist_and_settings_fit_discords_embed_limits(server: Server, database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.executemany(
            f'INSERT INTO "{server.bot.schema}".tempbans (guild_id, user_id, moderator_id, reason, expires_at) '
            "VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))",
            [(str(server.guild_id), str(10**17 + i), str(server.mods[0].id), "x" * 300, 1 + i) for i in range(200)])
    finally:
        await connection.close()
    listed = await server.reply_embed(server.mods[0], "!banlist")
    description = listed["description"]
    assert len(description) <= 4096
    lines = description.split("\n")
    shown, more = lines[:-1], re.fullmatch(r"\+(\d+) more", lines[-1])
    assert more and len(shown) + int(more.group(1)) == 200
    assert shown[0].startswith(f"<@{10**17}> — expires")  # soonest first
    assert all(line.endswith("…)") for line in shown)  # long reasons shortened

    settings = await server.reply_embed(server.bot.owner, "!settings")
    [bans] = [f for f in settings["fields"] if f["name"] == "Active tempbans (200)"]
    assert len(bans["value"]) <= 1024 and re.search(r"\n\+\d+ more$", bans["value"])
    total = len(settings["title"]) + sum(len(f["name"]) + len(f["value"]) for f in settings["fields"])
    assert total <= 6000


async def test_a_deleted_audit_channel_never_breaks_the_action(server: Server) -> None:
    emu, mod, target = server.emu, server.mods[0], server.members[0]
    emu.delete_channel(server.log_channel)
    assert await server.say(mod, f"!kick <@{target.id}>") == f"Kicked **{target.username}**."
    assert emu.kicked(server.guild_id) == [target.id]
    logged = await server.bot.wait_log(lambda e: e.get("event") == "audit_log_channel_unusable")
    assert logged["instance"] == "alpha" and logged["channel_id"] == server.log_channel.id
    assert logged["action"] == "Kick" and logged["level"] == "warning"


# --- rate limit, concurrency, two instances -----------------------------------------------------------


async def test_moderation_actions_are_rate_limited_per_moderator(server: Server) -> None:
    emu, mod = server.emu, server.mods[0]
    targets = server.add_members(3)
    for target in server.members[:5]:
        assert (await server.say(mod, f"!ban <@{target.id}> 1h")).startswith("Banned")
    slow_down = r"Slow down — try again in (5\d|60)s\."
    reply = await server.say(mod, f"!ban <@{server.members[5].id}> 1h")
    assert re.fullmatch(slow_down, reply), reply
    reply = await server.say(mod, f"!kick <@{server.members[5].id}>")  # every moderation action counts
    assert re.fullmatch(slow_down, reply), reply
    assert server.members[5].id not in emu.bans(server.guild_id) and emu.kicked(server.guild_id) == []
    # Another moderator is not slowed down by the first one.
    assert (await server.say(server.senior, f"!ban <@{targets[-1].id}> 1h")).startswith("Banned")
    assert len(emu.bans(server.guild_id)) == 6


async def test_twenty_simultaneous_bans_each_land_exactly_once(server: Server, database_url: str) -> None:
    # The rate limit is 5 per moderator per minute: four moderators ban five members each, all at once.
    emu = server.emu
    mods = [*server.mods, *server.add_mods(3)]
    targets = server.add_members(20 - len(server.members))
    assert len(targets) + 3 == 20
    targets = server.members
    commands = await asyncio.gather(*(server.send(mods[i // 5], f"!ban <@{target.id}> 1w raid wave")
                                      for i, target in enumerate(targets)))
    replies = await asyncio.gather(*(server.reply_to(command, timeout=15) for command in commands))
    for target, reply in zip(targets, replies, strict=True):
        assert reply.content.startswith(f"Banned **{target.username}** for **7d**."), reply.content
    assert sorted(emu.bans(server.guild_id)) == sorted(t.id for t in targets)
    ban_targets = [e.target_id for e in emu.audit_log(server.guild_id, "member_ban_add")]
    assert sorted(ban_targets) == sorted(t.id for t in targets)  # each exactly once
    rows = await tempban_rows(database_url, server.bot.schema)
    assert sorted(int(r["user_id"]) for r in rows) == sorted(t.id for t in targets)
    assert not any(r["unbanned"] for r in rows)
    audited = [await server.audit("Tempban") for _ in targets]
    assert sorted(a["User"] for a in audited) == sorted(f"{t.username} ({t.id})" for t in targets)


async def test_two_instances_keep_their_bans_apart(harness_factory: MakeHarness, database_url: str) -> None:
    # Two instances in one process, as the daemon hosts them: one pool, schema and sweeper each.
    a = await build_server(harness_factory, "alpha", "!")
    b = await build_server(harness_factory, "beta", "?")
    emu = a.emu
    await set_log_channel(a)
    await set_log_channel(b)
    a_short, a_long = a.members[:2]
    b_short, b_long = b.members[:2]
    for server, prefix, short, long in ((a, "!", a_short, a_long), (b, "?", b_short, b_long)):
        assert (await server.say(server.mods[0], f"{prefix}ban <@{short.id}> 2s")).startswith("Banned")
        assert (await server.say(server.mods[0], f"{prefix}ban <@{long.id}> 1w")).startswith("Banned")
    a_list = (await a.reply_embed(a.mods[0], "!banlist"))["description"]
    b_list = (await b.reply_embed(b.mods[0], "?banlist"))["description"]
    assert f"<@{a_short.id}>" in a_list and f"<@{a_long.id}>" in a_list
    assert f"<@{b_short.id}>" not in a_list and f"<@{b_long.id}>" not in a_list
    assert f"<@{b_short.id}>" in b_list and f"<@{a_short.id}>" not in b_list

    for server, short in ((a, a_short), (b, b_short)):
        assert (await server.audit("Tempban expired", timeout=15))["User"] == f"<@{short.id}> ({short.id})"
    # Each ban was lifted by its own bot, and by nobody else.
    for server, short, long in ((a, a_short, a_long), (b, b_short, b_long)):
        [lift] = emu.audit_log(server.guild_id, "member_ban_remove")
        assert lift.target_id == short.id and lift.actor_id == server.bot.bot_user.id
        assert list(emu.bans(server.guild_id)) == [long.id]
    for server, other in ((a, b), (b, a)):
        assert not [r for r in emu.requests if r.method == "DELETE" and r.token == other.bot.token
                    and r.path.startswith(f"/guilds/{server.guild_id}/")]
        rows = await tempban_rows(database_url, server.bot.schema)
        assert {r["guild_id"] for r in rows} == {str(server.guild_id)}
    assert a.bot.schema != b.bot.schema
