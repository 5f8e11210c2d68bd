"""Discord's REST rules: limits, empty messages, bulk delete age, 429 and 5xx retries, history, files."""

from __future__ import annotations

import datetime as dt
import io
import time

import discord
import pytest

from supervisor.emulator import Emulator, P
from tests.support import BotRunner, World


async def test_content_over_2000_chars_is_rejected(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    channel = bot.get_channel(world.channel.id)

    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)

    assert caught.value.status == 400 and caught.value.code == 50035
    assert "In content: Must be 2000 or fewer in length." in caught.value.text
    await channel.send("x" * 2000)
    assert len(emu.messages(world.channel)) == 1


async def test_embed_limits_are_enforced(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    channel = bot.get_channel(world.channel.id)

    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embed=discord.Embed(title="t" * 257))
    assert caught.value.status == 400 and "In embeds.0.title" in caught.value.text

    too_many = discord.Embed(title="fields")
    for i in range(26):
        too_many.add_field(name=f"f{i}", value="v")
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embed=too_many)
    assert "In embeds.0.fields" in caught.value.text

    big = [discord.Embed(description="d" * 4000), discord.Embed(description="d" * 2001)]
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embeds=big)
    assert "6000" in caught.value.text

    sent = await channel.send(embed=discord.Embed(title="ok", description="fine"))
    assert sent.embeds[0].title == "ok"
    assert emu.messages(world.channel)[0].embeds[0]["title"] == "ok"


async def test_empty_message_is_rejected(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)

    with pytest.raises(discord.HTTPException) as caught:
        await bot.get_channel(world.channel.id).send("")
    assert caught.value.status == 400 and caught.value.code == 50006


async def test_bulk_delete_refuses_messages_older_than_14_days(emu: Emulator, world: World, bots: BotRunner) -> None:
    mod = emu.create_role(world.guild, "Mod", P.MANAGE_MESSAGES)
    emu.set_member_roles(world.guild, world.bot_user, [mod])
    old = await emu.send_message(
        world.channel, world.owner, "ancient", timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(days=15)
    )
    new1 = await emu.send_message(world.channel, world.owner, "one")
    new2 = await emu.send_message(world.channel, world.owner, "two")
    bot = await bots.start(world.token)
    channel = bot.get_channel(world.channel.id)
    assert discord.utils.snowflake_time(old.id) < discord.utils.utcnow() - dt.timedelta(days=14)

    with pytest.raises(discord.HTTPException) as caught:
        await channel.delete_messages([discord.Object(old.id), discord.Object(new1.id)])
    assert caught.value.status == 400 and caught.value.code == 50034
    assert emu.deleted_message_ids() == []

    await channel.delete_messages([discord.Object(new1.id), discord.Object(new2.id)], reason="cleanup")
    assert sorted(emu.deleted_message_ids(world.channel)) == sorted([new1.id, new2.id])
    assert [m.content for m in emu.messages(world.channel)] == ["ancient"]
    assert emu.audit_reasons(world.guild, "message_bulk_delete") == ["cleanup"]


async def test_429_is_waited_out_and_retried(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    emu.rate_limit("POST", "/channels/{channel_id}/messages", times=1, retry_after=0.3)

    started = time.monotonic()
    sent = await bot.get_channel(world.channel.id).send("after the limit")

    assert time.monotonic() - started >= 0.3
    assert sent.content == "after the limit"
    assert emu.count_requests("POST", "/channels/{channel_id}/messages") == 2
    assert [r.status for r in emu.requests if r.method == "POST"] == [429, 200]
    assert [m.content for m in emu.messages(world.channel)] == ["after the limit"]


async def test_injected_500_is_retried(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    emu.fail_next("POST", f"/channels/{world.channel.id}/messages", status=500)

    await bot.get_channel(world.channel.id).send("survives")

    assert [r.status for r in emu.requests if r.method == "POST"] == [500, 200]
    assert [m.content for m in emu.messages(world.channel)] == ["survives"]


async def test_injected_403_surfaces(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    emu.fail_next("POST", "/channels/{channel_id}/messages", status=403, code=50013, message="Missing Permissions")

    with pytest.raises(discord.Forbidden):
        await bot.get_channel(world.channel.id).send("nope")
    await bot.get_channel(world.channel.id).send("yes")  # only the next request failed
    assert [m.content for m in emu.messages(world.channel)] == ["yes"]


async def test_history_edit_and_delete(emu: Emulator, world: World, bots: BotRunner) -> None:
    for i in range(5):
        await emu.send_message(world.channel, world.owner, f"m{i}")
    edits: list[str] = []

    def setup(bot) -> None:
        @bot.listen()
        async def on_message_edit(before: discord.Message, after: discord.Message) -> None:
            edits.append(after.content)

    bot = await bots.start(world.token, setup=setup)
    channel = bot.get_channel(world.channel.id)

    newest = [m.content async for m in channel.history(limit=3)]
    assert newest == ["m4", "m3", "m2"]
    oldest = [m.content async for m in channel.history(limit=2, oldest_first=True)]
    assert oldest == ["m0", "m1"]
    everything = [m.content async for m in channel.history(limit=None)]
    assert everything == ["m4", "m3", "m2", "m1", "m0"]

    sent = await channel.send("draft")
    await sent.edit(content="final")
    assert emu.messages(world.channel)[-1].content == "final"
    await emu.wait_until(lambda: edits == ["final"])

    await sent.delete()
    assert emu.deleted_message_ids(world.channel) == [sent.id]

    someone_elses = await channel.fetch_message(emu.messages(world.channel)[0].id)
    with pytest.raises(discord.Forbidden) as caught:
        await someone_elses.edit(content="hijack")
    assert caught.value.code == 50005
    with pytest.raises(discord.Forbidden):
        await someone_elses.delete()  # needs MANAGE_MESSAGES
    assert emu.unknown_routes == []


async def test_files_upload_and_download(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    channel = bot.get_channel(world.channel.id)

    sent = await channel.send("report", file=discord.File(io.BytesIO(b"hello file"), filename="report.txt"))

    [stored] = emu.messages(world.channel)
    assert stored.content == "report"
    assert [(a.filename, a.data) for a in stored.attachments] == [("report.txt", b"hello file")]
    assert sent.attachments[0].filename == "report.txt"
    assert await sent.attachments[0].read() == b"hello file"


async def test_reply_and_dm(emu: Emulator, world: World, bots: BotRunner) -> None:
    def setup(bot) -> None:
        @bot.command()
        async def hello(ctx) -> None:
            await ctx.reply("hi there")
            await ctx.author.send("a private hello")

    await bots.start(world.token, setup=setup)
    asked = await emu.send_message(world.channel, world.owner, "!hello")

    reply = await emu.wait_for_bot_message(channel=world.channel)
    assert reply.content == "hi there" and reply.reference_id == asked.id
    assert world.owner.id in reply.mentions
    dm = emu.dm_channel(world.owner, world.bot_user)
    assert (await emu.wait_for_bot_message(channel=dm)).content == "a private hello"


async def test_dm_command(emu: Emulator, world: World, bots: BotRunner) -> None:
    def setup(bot) -> None:
        @bot.command()
        async def whereami(ctx) -> None:
            await ctx.send("dm" if ctx.guild is None else "guild")

    await bots.start(world.token, setup=setup)
    dm = emu.dm_channel(world.owner, world.bot_user)
    await emu.send_message(dm, world.owner, "!whereami")

    assert (await emu.wait_for_bot_message(channel=dm)).content == "dm"
