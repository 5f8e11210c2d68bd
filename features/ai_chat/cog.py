"""Answers a mention of the bot, or a reply to one of its messages, in a guild, from a member (never a bot)."""

from __future__ import annotations

import discord
from discord.ext import commands
from supervisor.sdk import FeatureContext

from .chat import Conversation


class AIChatCog(commands.Cog, name="AI Chat"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx

    async def _referenced(self, message: discord.Message) -> discord.Message | None:
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        if isinstance(reference.resolved, discord.Message):
            return reference.resolved
        try:
            return await message.channel.fetch_message(reference.message_id)
        except discord.HTTPException:
            return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        bot = self.ctx.bot
        if message.guild is None or message.author.bot or bot.user is None:
            return
        mentioned = bot.user in message.mentions and f"<@{bot.user.id}>" in message.content.replace("<@!", "<@")
        referenced = await self._referenced(message) if message.reference else None
        if not mentioned and (referenced is None or referenced.author.id != bot.user.id):
            return
        if message.content.startswith(self.ctx.command_start()):
            return  # a command that happens to mention the bot is the command's business
        try:
            await Conversation(self.ctx, message, referenced).run()
        except discord.HTTPException as error:
            self.ctx.log.warning("ai_chat_discord_error", status=error.status, code=error.code)
