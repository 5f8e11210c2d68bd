"""Intent filtering and the events that keep a bot's cache true."""

from __future__ import annotations

import discord
from discord.ext import commands

from supervisor.emulator import Emulator, P
from tests.support import BotRunner, World, add_ping


async def test_without_message_content_prefix_commands_stay_silent(
    emu: Emulator, world: World, bots: BotRunner
) -> None:
    seen: list[str] = []
    # "!" or a mention: a mention keeps its content, so the second command is this test's proof of progress.
    bot = commands.Bot(command_prefix=commands.when_mentioned_or("!"), intents=discord.Intents.default(),
                       guild_ready_timeout=0.1, help_command=None)  # no message_content
    add_ping(bot)

    @bot.listen()
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    await bots.start(world.token, bot=bot)

    await emu.send_message(world.channel, world.owner, "!ping")
    await emu.send_message(world.channel, world.owner, f"<@{world.bot_user.id}> ping")
    # Messages are handled in order: once the mentioned command has answered, the first one was handled too.
    pong = await emu.wait_for_bot_message(channel=world.channel, bot=world.bot_user)
    assert pong.content == "pong"

    # Content is blanked unless the bot is mentioned, so the "!" command never fires.
    assert seen == ["", f"<@{world.bot_user.id}> ping"]
    assert [m.content for m in emu.bot_messages] == ["pong"]


async def test_member_events_need_the_members_intent(emu: Emulator, world: World, bots: BotRunner) -> None:
    joined: dict[str, list[int]] = {"with": [], "without": []}
    channels_seen: list[int] = []
    emu.add_bot_to_guild(world.guild, emu.add_application("second-token", "Second"))

    def listen(key: str):
        def setup(bot) -> None:
            @bot.listen()
            async def on_member_join(member: discord.Member) -> None:
                joined[key].append(member.id)

            if key == "without":
                @bot.listen()
                async def on_guild_channel_create(channel: discord.abc.GuildChannel) -> None:
                    channels_seen.append(channel.id)

        return setup

    await bots.start(world.token, setup=listen("with"))
    await bots.start("second-token", intents=discord.Intents.default(), setup=listen("without"))

    newcomer = emu.create_user("newcomer")
    emu.add_member(world.guild, newcomer)

    await emu.wait_until(lambda: joined["with"] == [newcomer.id])
    # A later event both bots receive: gateway events arrive in order, so once the second bot has handled this
    # one, it would have handled a member join sent before it.
    lobby = emu.create_channel(world.guild, "lobby")
    await emu.wait_until(lambda: lobby.id in channels_seen)
    assert joined["without"] == []


async def test_bot_joining_a_guild_gets_guild_create(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    other = emu.create_guild("Second Guild", world.owner)
    emu.create_channel(other, "lobby")

    emu.add_bot_to_guild(other, world.bot_user)

    await emu.wait_until(lambda: bot.get_guild(other.id) is not None)
    assert [c.name for c in bot.get_guild(other.id).channels] == ["lobby"]


async def test_rest_created_channels_and_roles_reach_the_cache(emu: Emulator, world: World, bots: BotRunner) -> None:
    admin = emu.create_role(world.guild, "Admin", P.ADMINISTRATOR, position=3)
    emu.set_member_roles(world.guild, world.bot_user, [admin])
    bot = await bots.start(world.token)
    guild = bot.get_guild(world.guild.id)

    channel = await guild.create_text_channel("Bot Logs")
    role = await guild.create_role(name="Muted", reason="setup")
    await channel.edit(topic="audit trail")

    assert channel.name == "bot-logs"
    assert emu.guild(world.guild).channels[channel.id].topic == "audit trail"
    await emu.wait_until(lambda: guild.get_channel(channel.id) is not None and guild.get_role(role.id) is not None)
    await emu.wait_until(lambda: guild.get_channel(channel.id).topic == "audit trail")
    # A new role lands at position 1 and pushes the others up, as on Discord.
    assert emu.guild(world.guild).roles[role.id].position == 1
    assert emu.guild(world.guild).roles[admin.id].position == 4

    await role.delete()
    await channel.delete()
    await emu.wait_until(lambda: guild.get_channel(channel.id) is None and guild.get_role(role.id) is None)
    assert emu.unknown_routes == []


async def test_fetch_members_and_member(emu: Emulator, world: World, bots: BotRunner) -> None:
    users = [emu.create_user(f"user{i}") for i in range(3)]
    for user in users:
        emu.add_member(world.guild, user)
    bot = await bots.start(world.token)
    guild = bot.get_guild(world.guild.id)

    fetched = [m.id async for m in guild.fetch_members(limit=None)]
    assert sorted(fetched) == sorted([world.owner.id, world.bot_user.id, *(u.id for u in users)])
    assert (await guild.fetch_member(users[0].id)).name == "user0"
    assert (await bot.fetch_user(users[1].id)).name == "user1"
