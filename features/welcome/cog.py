"""Posts a welcome on GUILD_MEMBER_ADD: personality plus the prompt file (both read live) through the instance's
chat provider, at most one per member per 5 minutes, pinging nobody but the newcomer."""

from __future__ import annotations

import discord
from discord.ext import commands
from supervisor.sdk import AIUnavailable, FeatureContext, InstanceFileError, Outcome, complete, truncate

REJOIN_WINDOW_SECONDS = 300.0  # a rejoin storm gets one welcome
PROMPT_MAX_BYTES = 16 * 1024
MAX_TOKENS = 512
MESSAGE_LIMIT = 2000
SEND_TIMEOUT = 30.0



def system_prompt(personality: str, instructions: str) -> str:
    return f"{personality}\n\n## Welcome Message Instructions\n{instructions}"


def user_prompt(member: discord.Member) -> str:
    return (f"A new member has joined the server! Their name is {member.display_name} and their mention is "
            f"{member.mention}. Write a welcome message for them.")


def plain_welcome(text: str, member: discord.Member) -> str:
    """The prompt file as the welcome itself, for an instance without a chat provider."""
    filled = (text.replace("{name}", member.display_name).replace("{server}", member.guild.name)
              .replace("{mention}", member.mention))
    return filled if "{mention}" in text else f"Welcome {member.mention}!\n{filled}"


class WelcomeCog(commands.Cog, name="Welcome"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self._reported: dict[str, str] = {}

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if member.bot:
            return
        guild = member.guild
        channel_id = int(self.ctx.settings["channel"])
        channel = guild.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            if self.ctx.bot.get_channel(channel_id) is None:
                self._problem("channel", f"[welcome].channel {channel_id} is not a text channel of any server "
                                         "this bot is in")
            return  # otherwise it is another server's welcome channel
        self._solved("channel")
        if self.ctx.limiter(f"rejoin:{guild.id}", 1, REJOIN_WINDOW_SECONDS).try_acquire(member.id) is not None:
            self.ctx.log.info("welcome_skipped", reason="welcomed in the last 5 minutes", guild_id=guild.id,
                              user_id=member.id)
            return
        prompt_file = self.ctx.settings["prompt_file"]
        try:
            instructions = (await self.ctx.read_text(prompt_file, max_bytes=PROMPT_MAX_BYTES)).strip()
        except InstanceFileError as error:
            self._problem("prompt_file", str(error))
            return
        if not instructions:
            self._problem("prompt_file", f"{self.ctx.name}/{prompt_file}: the welcome prompt file is empty")
            return
        self._solved("prompt_file")
        text = truncate((await self._compose(member, instructions)).strip(), MESSAGE_LIMIT)
        # The model's text may say @everyone or name a role: only the newcomer is pinged.
        mentions = discord.AllowedMentions(everyone=False, roles=False, users=[member], replied_user=False)
        result = await self.ctx.discord(channel.send(text, allowed_mentions=mentions), timeout=SEND_TIMEOUT)
        if result.outcome is Outcome.FORBIDDEN:
            self._problem("permission", f"no permission to send messages in <#{channel_id}> of {guild.name!r}")
            return
        if not result.ok:
            self.ctx.log.warning("welcome_not_sent", guild_id=guild.id, user_id=member.id, outcome=result.outcome,
                                 status=result.status, error=result.describe())
            return
        self._solved("permission")
        self.ctx.log.info("welcome_sent", guild_id=guild.id, user_id=member.id)

    async def _compose(self, member: discord.Member, instructions: str) -> str:
        try:
            text = await complete(self.ctx, system=system_prompt(self.ctx.config.personality, instructions),
                                  user=user_prompt(member), max_tokens=MAX_TOKENS)
        except AIUnavailable as error:
            self.ctx.log.warning("welcome_model_failed", user_id=member.id, error=str(error))
            text = None
        if text is None or not text.strip():
            return plain_welcome(instructions, member)
        return text

    def _problem(self, key: str, message: str) -> None:
        self.ctx.warn(key, message)
        if self._reported.get(key) != message:
            self._reported[key] = message
            self.ctx.log.warning("welcome_misconfigured", problem=message)

    def _solved(self, key: str) -> None:
        self.ctx.clear_warning(key)
        self._reported.pop(key, None)
