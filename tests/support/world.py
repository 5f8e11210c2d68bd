"""A test world: the emulator, one guild per bot, instance folders on disk, and the daemon running them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from supervisor.emulator import Channel, Emulator, Guild, P, User
from tests.support.folders import InstanceFolders, config_text, fake_token


@dataclass
class BotWorld:
    name: str
    token: str
    bot_user: User
    guild: Guild
    channel: Channel
    owner: User
    prefix: str
    schema: str
    folder: Path


def add_bot(emu: Emulator, instances: InstanceFolders, name: str, *, prefix: str, schema: str, database_url: str,
            config_extra: str = "", bot_name: str | None = None, guild: Guild | None = None,
            owner: User | None = None, register_token: bool = True) -> BotWorld:
    """One instance folder plus its Discord side: an application, a guild it sits in, a #general channel."""
    token = fake_token(name)
    bot_user = emu.add_application(token, f"{name}-bot") if register_token else emu.create_user(f"{name}-ghost")
    owner = owner or emu.create_user(f"{name}-owner")
    guild = guild or emu.create_guild(f"{name} guild", owner)
    channel = next(iter(guild.channels.values()), None) or emu.create_channel(guild, "general")
    if register_token:
        bot_role = emu.create_role(guild, f"{name}-bot-role", int(P.ADMINISTRATOR), position=10)
        emu.add_bot_to_guild(guild, bot_user, roles=[bot_role])
    folder = instances.make(
        name,
        config=config_text(name, prefix, config_extra, bot_name),
        env={"DISCORD_TOKEN": token, "DB_SCHEMA": schema, "DATABASE_URL": database_url},
    )
    return BotWorld(name, token, bot_user, guild, channel, owner, prefix, schema, folder)


async def reply_to(emu: Emulator, bot: BotWorld, command: str) -> str:
    """The bot's answer to `command` typed by the guild owner: its content, else its embeds as JSON."""
    await emu.send_message(bot.channel, bot.owner, command)
    message = await emu.wait_for_bot_message(channel=bot.channel, bot=bot.bot_user, timeout=10)
    return message.content or json.dumps(message.embeds)
