"""Permissions, role hierarchy, bans, kicks, timeouts and role edits, as a bot's owner would see them."""

from __future__ import annotations

import datetime as dt

import discord
import pytest
from discord.ext import commands

from supervisor.emulator import Emulator, Overwrite, P
from tests.support import BotRunner, World


async def test_ban_without_ban_members_is_forbidden(emu: Emulator, world: World, bots: BotRunner) -> None:
    target = emu.create_user("troll")
    emu.add_member(world.guild, target)
    bot = await bots.start(world.token)

    with pytest.raises(discord.Forbidden) as caught:
        await bot.get_guild(world.guild.id).ban(discord.Object(target.id), reason="spam")

    assert caught.value.code == 50013
    assert emu.bans(world.guild) == {}
    assert emu.member(world.guild, target) is not None


async def test_ban_respects_role_hierarchy(emu: Emulator, world: World, bots: BotRunner) -> None:
    mod = emu.create_role(world.guild, "Mod", P.BAN_MEMBERS, position=1)
    senior = emu.create_role(world.guild, "Senior", 0, position=2)
    emu.set_member_roles(world.guild, world.bot_user, [mod])
    above = emu.create_user("senior-member")
    below = emu.create_user("plain-member")
    emu.add_member(world.guild, above, roles=[senior])
    emu.add_member(world.guild, below)
    banned: list[int] = []

    def setup(bot: commands.Bot) -> None:
        @bot.listen()
        async def on_member_ban(guild: discord.Guild, user: discord.abc.User) -> None:
            banned.append(user.id)

    bot = await bots.start(world.token, setup=setup)
    guild = bot.get_guild(world.guild.id)

    with pytest.raises(discord.Forbidden):
        await guild.ban(discord.Object(above.id))
    with pytest.raises(discord.Forbidden):
        await guild.ban(discord.Object(world.owner.id))  # nobody outranks the owner
    await guild.ban(discord.Object(below.id), reason="Spamming links")

    assert emu.bans(world.guild) == {below.id: "Spamming links"}
    assert emu.audit_reasons(world.guild, "member_ban_add") == ["Spamming links"]
    # GUILD_BAN_ADD + GUILD_MEMBER_REMOVE keep the bot's cache true.
    await emu.wait_until(lambda: guild.get_member(below.id) is None)
    assert banned == [below.id]
    assert guild.get_member(above.id) is not None
    assert (await guild.fetch_ban(discord.Object(below.id))).reason == "Spamming links"

    await guild.unban(discord.Object(below.id))
    assert emu.bans(world.guild) == {}
    with pytest.raises(discord.NotFound) as caught:
        await guild.fetch_ban(discord.Object(below.id))
    assert caught.value.code == 10026


async def test_kick_command_records_reason(emu: Emulator, world: World, bots: BotRunner) -> None:
    mod = emu.create_role(world.guild, "Mod", P.KICK_MEMBERS)
    emu.set_member_roles(world.guild, world.bot_user, [mod])
    target = emu.create_user("rude")
    emu.add_member(world.guild, target)

    def setup(bot: commands.Bot) -> None:
        @bot.command()
        async def kick(ctx: commands.Context, member: discord.Member, *, reason: str) -> None:
            await member.kick(reason=reason)
            await ctx.send(f"kicked {member.name}")

    bot = await bots.start(world.token, setup=setup)
    await emu.send_message(world.channel, world.owner, f"!kick <@{target.id}> being rude")

    assert (await emu.wait_for_bot_message()).content == "kicked rude"
    assert emu.kicked(world.guild) == [target.id]
    assert emu.audit_reasons(world.guild, "member_kick") == ["being rude"]
    await emu.wait_until(lambda: bot.get_guild(world.guild.id).get_member(target.id) is None)
    assert emu.unknown_routes == []


async def test_member_timeout_is_stored(emu: Emulator, world: World, bots: BotRunner) -> None:
    mod = emu.create_role(world.guild, "Mod", P.MODERATE_MEMBERS)
    emu.set_member_roles(world.guild, world.bot_user, [mod])
    target = emu.create_user("loud")
    emu.add_member(world.guild, target)
    bot = await bots.start(world.token)
    member = bot.get_guild(world.guild.id).get_member(target.id)

    before = dt.datetime.now(dt.UTC)
    await member.timeout(dt.timedelta(minutes=10), reason="cool down")

    until = emu.timeout_until(world.guild, target)
    assert until is not None
    assert dt.timedelta(minutes=9) < until - before <= dt.timedelta(minutes=10, seconds=5)
    assert emu.audit_reasons(world.guild, "member_update") == ["cool down"]
    await emu.wait_until(lambda: member.guild.get_member(target.id).is_timed_out())

    # The owner cannot be timed out, whatever the bot's permissions.
    with pytest.raises(discord.Forbidden):
        await member.guild.get_member(world.owner.id).timeout(dt.timedelta(minutes=1))


async def test_add_roles_updates_the_bot_cache(emu: Emulator, world: World, bots: BotRunner) -> None:
    manager = emu.create_role(world.guild, "Manager", P.MANAGE_ROLES, position=5)
    helper = emu.create_role(world.guild, "Helper", 0, position=2)
    above = emu.create_role(world.guild, "Above", 0, position=6)
    emu.set_member_roles(world.guild, world.bot_user, [manager])
    target = emu.create_user("newbie")
    emu.add_member(world.guild, target)
    bot = await bots.start(world.token)
    guild = bot.get_guild(world.guild.id)
    member = guild.get_member(target.id)

    await member.add_roles(guild.get_role(helper.id), reason="welcome")

    assert emu.member_roles(world.guild, target) == [helper.id]
    # discord.py does not change its cache after PUT; only GUILD_MEMBER_UPDATE makes this true.
    await emu.wait_until(lambda: helper.id in [r.id for r in guild.get_member(target.id).roles])

    with pytest.raises(discord.Forbidden):
        await member.add_roles(guild.get_role(above.id))  # a role above the bot's own top role

    await guild.get_member(target.id).remove_roles(guild.get_role(helper.id))
    assert emu.member_roles(world.guild, target) == []
    await emu.wait_until(lambda: helper.id not in [r.id for r in guild.get_member(target.id).roles])


async def test_member_edit_returns_full_member(emu: Emulator, world: World, bots: BotRunner) -> None:
    admin = emu.create_role(world.guild, "Admin", P.ADMINISTRATOR, position=3)
    emu.set_member_roles(world.guild, world.bot_user, [admin])
    target = emu.create_user("nicky")
    emu.add_member(world.guild, target)
    bot = await bots.start(world.token)
    member = bot.get_guild(world.guild.id).get_member(target.id)

    edited = await member.edit(nick="Nicky")

    assert edited is not None and edited.nick == "Nicky" and edited.id == target.id
    assert emu.member(world.guild, target).nick == "Nicky"


async def test_overwrite_denying_send_messages_is_forbidden(emu: Emulator, world: World, bots: BotRunner) -> None:
    locked = emu.create_channel(
        world.guild, "announcements", overwrites=[Overwrite.for_role(world.guild.everyone, deny=P.SEND_MESSAGES)]
    )
    bot = await bots.start(world.token)
    channel = bot.get_channel(locked.id)
    assert not channel.permissions_for(channel.guild.me).send_messages  # the cache agrees with the emulator

    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("hello")
    assert caught.value.code == 50013
    assert emu.messages(locked) == []

    # A member overwrite for the bot wins over the @everyone deny.
    emu.set_overwrites(
        locked,
        [
            Overwrite.for_role(world.guild.everyone, deny=P.SEND_MESSAGES),
            Overwrite.for_member(world.bot_user, allow=P.SEND_MESSAGES),
        ],
    )
    await channel.send("hello")
    assert [m.content for m in emu.messages(locked)] == ["hello"]


async def test_hidden_channel_is_missing_access(emu: Emulator, world: World, bots: BotRunner) -> None:
    hidden = emu.create_channel(
        world.guild, "staff", overwrites=[Overwrite.for_role(world.guild.everyone, deny=P.VIEW_CHANNEL)]
    )
    seen: list[str] = []

    def setup(bot: commands.Bot) -> None:
        @bot.listen()
        async def on_message(message: discord.Message) -> None:
            seen.append(message.content)

    bot = await bots.start(world.token, setup=setup)
    await emu.send_message(hidden, world.owner, "secret")
    await emu.send_message(world.channel, world.owner, "public")
    await emu.wait_until(lambda: "public" in seen)
    assert seen == ["public"]  # no MESSAGE_CREATE from a channel the bot cannot view

    with pytest.raises(discord.Forbidden) as caught:
        await bot.get_channel(hidden.id).send("hi")
    assert caught.value.code == 50001
