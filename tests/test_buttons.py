"""Buttons in a hosted bot: the kit's Confirm view, run by the real runner in-process against the emulator."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
import pytest
from discord.ext import commands

from supervisor.emulator import P
from supervisor.emulator.interactions import CHANNEL_MESSAGE, UPDATE_MESSAGE
from supervisor.sandbox.buttons import NO_ANSWER
from supervisor.sandbox.chat import Chat
from supervisor.sandbox.world import InstanceGuild, SandboxWorld
from supervisor.sdk import Confirm
from tests.support import FeatureHarness


class AskCog(commands.Cog):
    """What a feature does with Confirm: ask, wait, act on the answer."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.views: list[Confirm] = []

    @commands.command(name="wipe")
    async def wipe(self, ctx: commands.Context) -> None:
        view = Confirm(allowed=[ctx.author.id], timeout=self.timeout)
        self.views.append(view)
        await view.send(ctx, "Wipe everything?")
        outcome = await view.result()
        who = view.pressed_by.name if view.pressed_by else "nobody"
        await ctx.send(f"Outcome: {outcome} by {who}")

    @commands.command(name="purge")
    async def purge(self, ctx: commands.Context) -> None:
        view = Confirm(permission="ban_members", confirm_label="Approve", timeout=self.timeout)
        self.views.append(view)
        await view.send(ctx, "Approve the purge?")
        await ctx.send(f"Purge: {await view.result()} by {view.pressed_by.name if view.pressed_by else 'nobody'}")


async def hosted(harness_factory, timeout: float = 30.0) -> tuple[FeatureHarness, AskCog]:
    h = await harness_factory()
    cog = AskCog(timeout)
    await h.bot.add_cog(cog)
    return h, cog


def buttons_of(h: FeatureHarness, message_id: int) -> list[tuple[str, bool]]:
    message = h.emu.current_message(message_id)
    return [(b["label"], b.get("disabled", False)) for row in message.components for b in row["components"]]


async def test_the_asker_confirms_and_the_buttons_are_disabled(harness_factory, caplog) -> None:
    caplog.set_level(logging.ERROR)
    h, cog = await hosted(harness_factory)
    alice = h.add_member("alice")
    await h.send(alice, "!wipe")
    question = await h.emu.wait_for_bot_message(lambda m: m.content == "Wipe everything?", bot=h.bot_user)
    assert buttons_of(h, question.id) == [("Confirm", False), ("Cancel", False)]

    pressed = await h.press(question, alice, "Confirm")

    assert pressed.response_type == UPDATE_MESSAGE
    assert buttons_of(h, question.id) == [("Confirm", True), ("Cancel", True)]
    outcome = await h.emu.wait_for_bot_message(lambda m: m.content.startswith("Outcome:"), bot=h.bot_user)
    assert outcome.content == "Outcome: confirmed by alice"
    assert cog.views[0].confirmed and cog.views[0].pressed_by.id == alice.id
    assert [r.message for r in caplog.records] == []


async def test_another_member_is_refused_privately_and_nothing_changes(harness_factory) -> None:
    h, cog = await hosted(harness_factory)
    alice, bob = h.add_member("alice"), h.add_member("bob")
    await h.send(alice, "!wipe")
    question = await h.emu.wait_for_bot_message(lambda m: m.content == "Wipe everything?", bot=h.bot_user)

    pressed = await h.press(question, bob, "Confirm")

    assert pressed.response_type == CHANNEL_MESSAGE
    assert [m.content for m in h.emu.ephemeral_messages(bob)] == ["Only the member who asked can use these buttons."]
    assert h.emu.ephemeral_messages(alice) == []
    assert buttons_of(h, question.id) == [("Confirm", False), ("Cancel", False)]
    assert cog.views[0].outcome is None
    # The asker's answer still counts.
    await h.emu.press_button(question, alice, "Cancel")
    outcome = await h.emu.wait_for_bot_message(lambda m: m.content.startswith("Outcome:"), bot=h.bot_user)
    assert outcome.content == "Outcome: cancelled by alice"


async def test_after_the_timeout_the_buttons_are_disabled_and_cannot_be_pressed(harness_factory, caplog) -> None:
    caplog.set_level(logging.ERROR)
    h, _ = await hosted(harness_factory, timeout=0.5)
    alice = h.add_member("alice")
    await h.send(alice, "!wipe")
    question = await h.emu.wait_for_bot_message(lambda m: m.content == "Wipe everything?", bot=h.bot_user)

    outcome = await h.emu.wait_for_bot_message(lambda m: m.content.startswith("Outcome:"), bot=h.bot_user, timeout=15)

    assert outcome.content == "Outcome: timed_out by nobody"
    await h.emu.wait_until(lambda: buttons_of(h, question.id) == [("Confirm", True), ("Cancel", True)])
    with pytest.raises(ValueError, match="disabled"):
        await h.emu.press_button(question, alice, "Confirm")
    assert h.emu.interactions == [] and h.emu.internal_errors == []
    assert [r.message for r in caplog.records] == []


async def test_a_permission_lets_moderators_answer(harness_factory) -> None:
    h, _ = await hosted(harness_factory)
    asker, member = h.add_member("asker"), h.add_member("member")
    mod = h.add_member("mod", permissions=int(P.BAN_MEMBERS))
    await h.send(asker, "!purge")
    question = await h.emu.wait_for_bot_message(lambda m: m.content == "Approve the purge?", bot=h.bot_user)

    for who in (asker, member):
        refused = await h.emu.press_button(question, who, "Approve")
        assert [m.visible_to for m in refused.ephemeral_replies] == [who.id]
    await h.emu.press_button(question, mod, "Approve")

    outcome = await h.emu.wait_for_bot_message(lambda m: m.content.startswith("Purge:"), bot=h.bot_user)
    assert outcome.content == "Purge: confirmed by mod"


class ForgetfulCog(commands.Cog):
    """A plain discord.ui.View whose timeout leaves its buttons pressable, and a bot that then never answers."""

    def __init__(self) -> None:
        self.views: list[discord.ui.View] = []

    @commands.command(name="vote")
    async def vote(self, ctx: commands.Context) -> None:
        view = discord.ui.View(timeout=0.3)
        self.views.append(view)
        view.add_item(discord.ui.Button(label="Up", custom_id="vote:up"))
        await ctx.send("Vote!", view=view)


async def test_buttons_through_the_sandbox_chat(harness_factory) -> None:
    h, _ = await hosted(harness_factory)
    forgetful = ForgetfulCog()
    await h.bot.add_cog(forgetful)
    world = SandboxWorld(h.emu)
    bob = h.add_member("bob")
    world.guilds["bot"] = InstanceGuild("bot", h.bot_user, h.guild, {"general": h.channel}, {},
                                        {"you": h.owner, "bob": bob})
    out = io.StringIO()
    chat = Chat(h.emu, world, lambda: [], out)
    script = ["!wipe", "/as bob", "/press 1", "/as you", "/press 2", "/press 1", "!vote"]
    await chat.run(io.StringIO("\n".join(script) + "\n"))
    await h.emu.wait_until(lambda: bool(forgetful.views))
    assert await asyncio.wait_for(forgetful.views[0].wait(), 10) is True  # the View timed out in the bot
    await chat.run(io.StringIO("/press 1\n"))
    shown = out.getvalue()

    after = shown[shown.index("you> !wipe"):]
    assert "bot-bot: Wipe everything?\n    [1 Confirm] [2 Cancel]   (/press N)" in after
    after = after[after.index("bob> /press 1"):]
    assert "Only the member who asked can use these buttons.  (only bob can see this)" in after
    after = after[after.index("you> /press 2"):]
    assert "bot-bot (edited): Wipe everything?\n    [1 Confirm (disabled)] [2 Cancel (disabled)]\n" in after
    assert "Outcome: cancelled by bot-owner" in after
    after = after[after.index("you> /press 1"):]
    assert "Cannot press: button 'Confirm' is disabled" in after
    after = after[after.index("you> !vote"):]
    assert "[1 Up]" in after
    assert after.rstrip().endswith(NO_ANSWER)
    assert h.emu.internal_errors == []
