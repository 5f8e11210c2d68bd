"""`verify`, the donator sync job, the chargeback webhook and the alert's buttons."""

from __future__ import annotations

import discord
from discord.ext import commands
from supervisor.sdk import FeatureContext, Periodic, webhook_key

from .chargeback import Chargebacks
from .plugin import NotConfigured, Plugin, PluginError
from .sync import FIRST_SYNC_DELAY, DonatorSync


class MinecraftCog(commands.Cog, name="Minecraft"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.plugin = Plugin(ctx)
        self.sync = DonatorSync(ctx, self.plugin)
        self.chargebacks = Chargebacks(ctx, self.plugin)
        self.sync_job: Periodic | None = None
        ctx.provide(webhook_key("chargeback"), self.chargebacks.webhook)
        self._apply_switches()
        ctx.on_config_change(self._apply_switches)

    def _apply_switches(self) -> None:
        # `verify = false`: the command is not there for users, in help either (read live at each edit).
        self.verify.hidden = not self.ctx.settings.get("verify", True)

    async def cog_load(self) -> None:
        self.sync_job = self.ctx.every("donator-sync", self.sync.interval, self.sync.round,
                                       first_delay=FIRST_SYNC_DELAY)

    async def cog_unload(self) -> None:
        if self.sync_job is not None:
            self.sync_job.cancel()

    @commands.command(name="verify", brief="link your Discord account to your Minecraft player",
                      usage="<code>")
    async def verify(self, context: commands.Context, *, code: str = "") -> None:
        if not self.ctx.settings.get("verify", True):
            return  # `verify = false`: as if the command did not exist
        try:
            self.plugin.configured()
        except NotConfigured as error:
            await context.reply(str(error), mention_author=False)
            return
        code = code.strip().upper()
        if not code:
            await context.reply(f"Usage: `{self.ctx.command_start()}verify <code>` — get your code by running "
                                "`/verify` in Minecraft.", mention_author=False)
            return
        try:
            result = await self.plugin.verify(code, context.author.id)
        except PluginError as error:
            await context.reply(f"Could not reach the MC server: {error}", mention_author=False)
            return
        if result.success:
            self.ctx.log.info("minecraft_verified", user_id=context.author.id)
            reply = (f"Verified! Your Discord account is now linked to **{result.username or 'Unknown'}** in "
                     "Minecraft.")
        else:
            reply = f"Verification failed: {result.error or 'Unknown error'}"
        await context.reply(reply, mention_author=False, allowed_mentions=discord.AllowedMentions.none())

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            await self.chargebacks.on_press(interaction)
