"""`!trap <interrupt|exit|custom> <where>`: the next run of that code raises. <where>: button, modal, task, job,
listener, or a plain callback the command schedules on the loop: soon, later, at, threadsafe (call_soon,
call_later, call_at, call_soon_threadsafe from a worker thread), done (a done callback on a future of its own)."""

import asyncio
import functools

import discord
from discord.ext import commands

from supervisor.sdk import FeatureContext


class Sabotage(BaseException):
    """A BaseException of a feature's own: no `except Exception` stops it."""


def raise_kind(kind: str) -> None:
    if kind == "interrupt":
        raise KeyboardInterrupt
    if kind == "exit":
        raise SystemExit(3)
    raise Sabotage("custom")


class TrapModal(discord.ui.Modal, title="Trap"):
    answer: discord.ui.TextInput["TrapModal"] = discord.ui.TextInput(label="Answer", custom_id="answer")

    def __init__(self, kind: str):
        super().__init__(custom_id="trap-modal")
        self.kind = kind

    async def on_submit(self, interaction: discord.Interaction) -> None:
        raise_kind(self.kind)


class TrapView(discord.ui.View):
    def __init__(self, kind: str, where: str):
        super().__init__(timeout=60)
        self.kind, self.where = kind, where

    @discord.ui.button(label="Press", custom_id="trap-press")
    async def press(self, interaction: discord.Interaction, _button: discord.ui.Button["TrapView"]) -> None:
        if self.where == "modal":
            await interaction.response.send_modal(TrapModal(self.kind))
            return
        raise_kind(self.kind)


class SaboteurCog(commands.Cog):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.job_kind: str | None = None
        self.listener_kind: str | None = None
        self.job = ctx.every("trap-job", 3600, self._job, wait_until_ready=False, first_delay=3600)

    async def _job(self) -> None:
        if self.job_kind is not None:
            raise_kind(self.job_kind)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.listener_kind is not None and message.content == "spring":
            raise_kind(self.listener_kind)

    @commands.command(name="trap")
    async def trap(self, context: commands.Context, kind: str, where: str) -> None:
        if where in ("button", "modal"):
            await context.reply("press", view=TrapView(kind, where), mention_author=False)
            return
        await context.reply("armed", mention_author=False)
        if where == "task":
            asyncio.create_task(self._bare(kind))  # noqa: RUF006 - the mistake under test: a bare task
        elif where == "job":
            self.job_kind = kind
            self.job.wake()
        elif where == "listener":
            self.listener_kind = kind
        else:
            await self._schedule(kind, where)

    async def _schedule(self, kind: str, where: str) -> None:
        loop = asyncio.get_running_loop()
        if where == "soon":
            loop.call_soon(self._fire, kind)
        elif where == "later":
            loop.call_later(0, self._fire, kind)
        elif where == "at":
            loop.call_at(loop.time(), self._fire, kind)
        elif where == "done":
            future = loop.create_future()
            future.add_done_callback(functools.partial(self._fire, kind))
            future.set_result(None)
        else:  # threadsafe: from a worker thread, as code that hands a result back to the loop does
            await asyncio.to_thread(loop.call_soon_threadsafe, self._fire, kind)

    def _fire(self, kind: str, *_future: object) -> None:
        raise_kind(kind)

    async def _bare(self, kind: str) -> None:
        await asyncio.sleep(0)
        raise_kind(kind)
