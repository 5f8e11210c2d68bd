import asyncio

import discord
from discord.ext import commands

from supervisor.sdk import FeatureContext
from tests.support.voice import ToneSource, tone_cycle


class VoiceProbeCog(commands.Cog):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.sources: list[ToneSource] = []  # what it played, for the test to compare with the recording

    @commands.command(name="tone")
    async def tone(self, context: commands.Context) -> None:
        voice_state = getattr(context.author, "voice", None)
        if voice_state is None or voice_state.channel is None:
            await context.reply("You need to be in a voice channel!", mention_author=False)
            return
        client = context.voice_client
        if not isinstance(client, discord.VoiceClient):
            client = await voice_state.channel.connect(timeout=10, reconnect=False)
        await asyncio.to_thread(tone_cycle, 440)  # encoding takes ~150 ms: not on the event loop
        source = ToneSource(440, seconds=2)
        self.sources.append(source)
        client.play(source)
        await context.reply(f"playing in {voice_state.channel.name}", mention_author=False)

    @commands.command(name="leave")
    async def leave(self, context: commands.Context) -> None:
        if context.voice_client is not None:
            await context.voice_client.disconnect(force=False)
        await context.reply("left", mention_author=False)
