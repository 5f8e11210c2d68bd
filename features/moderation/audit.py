"""The audit log: one embed per moderation action, sent to the channel `setlog` chose.

A missing, deleted or unwritable channel is logged and never breaks the action itself.
"""

from __future__ import annotations

import datetime as dt

import aiohttp
import discord
from supervisor.sdk import GREEN, RED, FeatureContext, truncate

from . import queries

_LIFTING_ACTIONS = {"Unban", "Untimeout", "Tempban expired"}


def user_field(user: discord.abc.User | discord.Object | int, name: str | None = None) -> str:
    user_id = user if isinstance(user, int) else user.id
    label = name or getattr(user, "name", None)
    return f"{label} ({user_id})" if label else f"<@{user_id}> ({user_id})"


def action_embed(action: str, fields: dict[str, str]) -> discord.Embed:
    embed = discord.Embed(
        title=f"Mod Action: {action}", colour=GREEN if action in _LIFTING_ACTIONS else RED,
        timestamp=dt.datetime.now(dt.UTC),
    )
    for name, value in fields.items():
        if value:
            embed.add_field(name=name, value=truncate(value, 1024), inline=True)
    return embed


async def send_audit(ctx: FeatureContext, guild_id: int, action: str, fields: dict[str, str]) -> None:
    log = ctx.log.bind(guild_id=guild_id, action=action)
    try:
        settings = await queries.guild_settings(ctx.pool, guild_id)
    except Exception as error:  # the action already happened; the audit entry is best effort
        log.warning("audit_log_skipped", error=repr(error))
        return
    channel_id = settings.audit_log_channel_id
    if channel_id is None or ctx.bot is None:
        return
    try:
        channel = ctx.bot.get_channel(channel_id) or await ctx.bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.GuildChannel) or channel.guild.id != guild_id:
            raise TypeError("not a channel of this server")
        if not isinstance(channel, discord.abc.Messageable):
            raise TypeError("not a text channel")
        await channel.send(embed=action_embed(action, fields))
    except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError, TypeError) as error:
        log.warning("audit_log_channel_unusable", channel_id=channel_id,
                    error=repr(error))
