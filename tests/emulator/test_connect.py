"""Login, READY/GUILD_CREATE, commands, compression, and the fatal connection errors."""

from __future__ import annotations

import zlib

import aiohttp
import discord
import pytest
from discord.ext import commands

from supervisor.emulator import Emulator
from tests.support import BotRunner, World, add_ping, full_intents


async def test_ping_command_is_answered(emu: Emulator, world: World, bots: BotRunner) -> None:
    await bots.start(world.token, setup=add_ping)

    await emu.send_message(world.channel, world.owner, "!ping")
    reply = await emu.wait_for_bot_message(channel=world.channel)

    assert reply.content == "pong"
    assert reply.author_id == world.bot_user.id
    assert [m.content for m in emu.messages(world.channel)] == ["!ping", "pong"]
    assert emu.unknown_routes == []


async def test_ready_and_guild_create_fill_the_cache(emu: Emulator, world: World, bots: BotRunner) -> None:
    role = emu.create_role(world.guild, "Helpers", permissions=0)
    member = emu.create_user("alice")
    emu.add_member(world.guild, member, roles=[role])

    bot = await bots.start(world.token)

    assert bot.user is not None and bot.user.id == world.bot_user.id
    assert bot.application_id == world.bot_user.id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Test Guild"
    assert guild.owner_id == world.owner.id
    # With the members intent every member arrives in GUILD_CREATE, so no chunking is needed.
    assert guild.chunked
    assert {m.id for m in guild.members} == {world.owner.id, member.id, world.bot_user.id}
    assert [r.name for r in guild.get_member(member.id).roles] == ["@everyone", "Helpers"]
    channel = guild.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel) and channel.name == "general"
    assert emu.identify_count(world.token) == 1 and emu.connected(world.token)


async def test_without_members_intent_only_the_bot_is_cached(emu: Emulator, world: World, bots: BotRunner) -> None:
    emu.add_member(world.guild, emu.create_user("alice"))
    intents = discord.Intents.default()
    bot = await bots.start(world.token, intents=intents)

    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    assert [m.id for m in guild.members] == [world.bot_user.id]
    assert guild.member_count == 3

    # REQUEST_GUILD_MEMBERS (op 8) still answers with a chunk echoing the nonce.
    found = await guild.query_members(user_ids=[world.owner.id])
    assert [m.id for m in found] == [world.owner.id]


async def test_zstd_stream_is_used_when_zstandard_is_importable(emu: Emulator, world: World, bots: BotRunner) -> None:
    await bots.start(world.token, setup=add_ping)
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message()).content == "pong"
    assert emu.gateway.compressions == ["zstd-stream"]


class _ZlibContext:
    """discord.py's zlib-stream reader, for forcing the non-zstd path (discord.py only defines its own
    zlib context when zstandard is missing)."""

    COMPRESSION_TYPE = "zlib-stream"

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.context = zlib.decompressobj()

    def decompress(self, data: bytes, /) -> str | None:
        self.buffer.extend(data)
        if len(data) < 4 or data[-4:] != b"\x00\x00\xff\xff":
            return None
        msg = self.context.decompress(self.buffer)
        self.buffer = bytearray()
        return msg.decode("utf-8")


async def test_zlib_stream(emu: Emulator, world: World, bots: BotRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.utils, "_ActiveDecompressionContext", _ZlibContext)
    await bots.start(world.token, setup=add_ping)

    for _ in range(3):  # several frames: the stream context must carry across messages
        await emu.send_message(world.channel, world.owner, "!ping")
        assert (await emu.wait_for_bot_message()).content == "pong"
    assert emu.gateway.compressions == ["zlib-stream"]


async def test_payload_compression_without_transport_compression(
        emu: Emulator, world: World, bots: BotRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's gateway reading (supervisor/runtime/compression.py): no `compress` in the URL, so nothing is
    kept per connection; IDENTIFY's `compress: true` has READY and GUILD_CREATE come zlib-compressed, each alone,
    and small events as text. The bot still sees its whole guild and answers."""
    from supervisor.runtime import compression

    for index in range(60):  # a GUILD_CREATE far over the compression threshold
        emu.add_member(world.guild, emu.create_user(f"member-{index}"))
    monkeypatch.setattr(discord.utils, "_ActiveDecompressionContext", compression.PayloadZlibContext)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "from_client",
                        classmethod(compression._from_client_uncompressed))
    bot = await bots.start(world.token, setup=add_ping)

    guild = bot.get_guild(world.guild.id)
    assert guild is not None and len(guild.members) == 62  # the owner, the bot and the 60
    for _ in range(3):
        await emu.send_message(world.channel, world.owner, "!ping")
        assert (await emu.wait_for_bot_message()).content == "pong"
    assert emu.gateway.compressions == [None]


async def test_two_bots_are_told_apart_by_token(emu: Emulator, world: World, bots: BotRunner) -> None:
    second = emu.add_application("bot-token-2", "SecondBot")
    emu.add_bot_to_guild(world.guild, second)

    def answer_with(text: str):
        def setup(bot: discord.Client) -> None:
            @bot.command()
            async def who(ctx) -> None:
                await ctx.send(text)

        return setup

    await bots.start(world.token, setup=answer_with("first"))
    await bots.start("bot-token-2", setup=answer_with("second"))

    await emu.send_message(world.channel, world.owner, "!who")
    replies = {
        (await emu.wait_for_bot_message(bot=world.bot_user)).content,
        (await emu.wait_for_bot_message(bot=second)).content,
    }
    assert replies == {"first", "second"}


async def test_bad_token_raises_login_failure(emu: Emulator, world: World, bots: BotRunner) -> None:
    with pytest.raises(discord.LoginFailure):
        await bots.start("not-a-registered-token")
    assert emu.identify_count("not-a-registered-token") == 0


async def test_bad_token_on_gateway_closes_4004(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(emu.gateway_url + "?v=10&encoding=json") as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
        await ws.send_json({"op": 1, "d": None})
        assert (await ws.receive_json())["op"] == 11
        await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 513, "properties": {}}})
        closing = await ws.receive()
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4004


async def test_privileged_intents_not_allowed_raise(emu: Emulator, world: World, bots: BotRunner) -> None:
    emu.application(world.token).privileged_intents = 0

    with pytest.raises(discord.PrivilegedIntentsRequired):
        await bots.start(world.token)  # full_intents() asks for members + message_content
    assert emu.identify_count(world.token) == 0


async def test_bot_close_disconnects(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    assert emu.connected(world.token)
    await bot.close()
    # discord.py's close races its reader, which closes with 4000 first: like Discord, the session is kept.
    await emu.wait_until(lambda: not emu.connected(world.token))
    assert len(emu.gateway.sessions) == 1


async def test_json_responses_have_exact_content_type(emu: Emulator, world: World) -> None:
    headers = {"Authorization": f"Bot {world.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(emu.api_base + "/users/@me", headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["id"] == str(world.bot_user.id)
        async with session.get(emu.api_base + "/users/@me") as resp:
            assert resp.status == 401
        async with session.get(emu.api_base + "/no/such/route", headers=headers) as resp:
            assert resp.status == 404
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
    assert emu.unknown_routes == [("GET", "/no/such/route")]


async def test_auto_sharded_bot_uses_gateway_bot(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = commands.AutoShardedBot(
        command_prefix="!", intents=full_intents(), guild_ready_timeout=0.1, help_command=None
    )
    add_ping(bot)
    await bots.start(world.token, bot=bot)

    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message()).content == "pong"
    assert bot.shard_count == 1
    assert emu.count_requests("GET", "/gateway/bot") == 1
    [session] = emu.gateway.sessions.values()
    assert session.shard == (0, 1)


async def test_restarted_bot_replaces_its_old_session(emu: Emulator, world: World, bots: BotRunner) -> None:
    first = await bots.start(world.token)
    await first.close()
    await emu.wait_until(lambda: not emu.connected(world.token))

    second = await bots.start(world.token, setup=add_ping)  # a closed Client cannot start again: new object

    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message()).content == "pong"
    assert second is not first
    assert emu.identify_count(world.token) == 2
    assert len(emu.gateway.sessions) == 1
