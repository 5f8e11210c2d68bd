"""Buttons: discord.py Views against the emulator's INTERACTION_CREATE, callback and webhook routes."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from supervisor.emulator import Emulator, Message
from supervisor.emulator.interactions import CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE
from tests.support import BotRunner, World, add_ping


class Ask(discord.ui.View):
    """Yes/No for the member who asked; anyone else is told off, privately."""

    def __init__(self, owner_id: int, timeout: float | None = 30.0) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.errors: list[BaseException] = []

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("These buttons are not yours.", ephemeral=True)
            return False
        return True

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: Any) -> None:
        self.errors.append(error)

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.success, custom_id="ask:yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        for child in self.children:
            child.disabled = True  # type: ignore[attr-defined]
        await interaction.response.edit_message(content="You said yes.", view=self)
        self.stop()

    @discord.ui.button(label="No", style=discord.ButtonStyle.danger, custom_id="ask:no")
    async def no(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        await interaction.followup.send("Noted: no.", ephemeral=True)
        await interaction.edit_original_response(content="You said no.", view=None)


def add_ask(views: list[Ask], timeout: float | None = 30.0):
    def setup(bot: commands.Bot) -> None:
        add_ping(bot)

        @bot.command()
        async def ask(ctx: commands.Context) -> None:
            view = Ask(ctx.author.id, timeout)
            views.append(view)
            await ctx.send("Are you sure?", view=view)

    return setup


async def ask(emu: Emulator, world: World, author: Any) -> Message:
    await emu.send_message(world.channel, author, "!ask")
    return await emu.wait_for_bot_message(lambda m: m.content == "Are you sure?", channel=world.channel)


async def test_allowed_member_presses_and_the_message_is_edited(emu: Emulator, world: World, bots: BotRunner) -> None:
    views: list[Ask] = []
    await bots.start(world.token, setup=add_ask(views))
    asked = await ask(emu, world, world.owner)
    assert [b["label"] for row in asked.components for b in row["components"]] == ["Yes", "No"]

    pressed = await emu.press_button(asked, world.owner, "Yes")

    assert pressed.response_type == UPDATE_MESSAGE
    assert pressed.payload["member"]["user"]["id"] == str(world.owner.id)
    now = emu.current_message(asked)
    assert now.content == "You said yes."
    assert all(b["disabled"] for row in now.components for b in row["components"])
    # The callback stops its view after its answer reached Discord: on a loaded machine that is a moment later.
    async with asyncio.timeout(60):
        timed_out = await views[0].wait()
    assert not timed_out and views[0].errors == []  # stopped by the press, not by the view's own 30 s timeout


async def test_other_member_gets_an_ephemeral_refusal_and_nothing_changes(
    emu: Emulator, world: World, bots: BotRunner
) -> None:
    views: list[Ask] = []
    await bots.start(world.token, setup=add_ask(views))
    stranger = emu.create_user("stranger")
    emu.add_member(world.guild, stranger)
    asked = await ask(emu, world, world.owner)

    pressed = await emu.press_button(asked, stranger, 1)

    assert pressed.response_type == CHANNEL_MESSAGE
    [refusal] = pressed.ephemeral_replies
    assert refusal.content == "These buttons are not yours."
    assert refusal.visible_to == stranger.id and refusal.flags & 64
    assert emu.ephemeral_messages(stranger) == [refusal]
    assert emu.ephemeral_messages(world.owner) == []
    assert refusal.id not in {m.id for m in emu.messages(world.channel)}  # not in the channel for others
    assert emu.current_message(asked).content == "Are you sure?"
    assert not views[0].is_finished()
    # The asker can still answer.
    assert (await emu.press_button(asked, world.owner, "ask:yes")).response_type == UPDATE_MESSAGE


async def test_defer_then_followup_and_edit_original(emu: Emulator, world: World, bots: BotRunner) -> None:
    await bots.start(world.token, setup=add_ask([]))
    asked = await ask(emu, world, world.owner)

    pressed = await emu.press_button(asked, world.owner, "No")
    assert pressed.response_type == DEFERRED_UPDATE
    await emu.wait_until(lambda: emu.current_message(asked).content == "You said no.")
    assert emu.current_message(asked).components == []
    assert [m.content for m in pressed.ephemeral_replies] == ["Noted: no."]


async def test_view_timeout_leaves_the_press_unanswered_and_harmless(
    emu: Emulator, world: World, bots: BotRunner
) -> None:
    views: list[Ask] = []
    await bots.start(world.token, setup=add_ask(views, timeout=0.3))
    asked = await ask(emu, world, world.owner)
    await asyncio.wait_for(views[0].wait(), 10)  # timed out

    pressed = await emu.press_button(asked, world.owner, "Yes", wait=False)
    # The bot handles gateway events in order: once it answered this ping it has seen (and ignored) the press.
    await emu.send_message(world.channel, world.owner, "!ping")
    assert (await emu.wait_for_bot_message(channel=world.channel)).content == "pong"

    assert emu.give_up(pressed) is True
    assert pressed.response_type is None and pressed.messages == []
    assert emu.current_message(asked).content == "Are you sure?"
    assert views[0].errors == []


async def test_press_while_disconnected_is_replayed_on_resume(emu: Emulator, world: World, bots: BotRunner) -> None:
    await bots.start(world.token, setup=add_ask([]))
    asked = await ask(emu, world, world.owner)
    assert await emu.drop_gateway(world.token) == 1

    pressed = await emu.press_button(asked, world.owner, "Yes", timeout=15)

    assert pressed.response_type == UPDATE_MESSAGE
    assert emu.resume_count(world.token) == 1 and emu.identify_count(world.token) == 1


async def test_interactions_need_no_intents(emu: Emulator, world: World, bots: BotRunner) -> None:
    views: list[Ask] = []
    bot = await bots.start(world.token, intents=discord.Intents.none())
    view = Ask(world.owner.id)
    sent = await bot.get_partial_messageable(world.channel.id).send("Are you sure?", view=view)
    asked = emu.current_message(sent.id)

    pressed = await emu.press_button(asked, world.owner, "Yes")

    assert pressed.response_type == UPDATE_MESSAGE
    assert emu.current_message(asked).content == "You said yes."
    assert views == []


# --- the routes, driven by hand -------------------------------------------------------------------


def _button_row(*labels: str) -> list[dict[str, Any]]:
    return [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": label, "custom_id": label.lower()} for label in labels
    ]}]


async def _post(session: aiohttp.ClientSession, url: str, body: Any, method: str = "POST") -> tuple[int, Any]:
    async with session.request(method, url, json=body) as response:
        return response.status, (await response.json() if response.status != 204 else None)


async def test_one_callback_per_interaction_and_the_webhook(emu: Emulator, world: World) -> None:
    channel = emu.state.channels[world.channel.id]
    asked = emu.ops.create_message(channel, world.bot_user.id, "Pick", components=_button_row("A", "B"))
    pressed = await emu.press_button(asked, world.owner, "B", wait=False)
    callback = f"{emu.api_base}/interactions/{pressed.id}/{pressed.token}/callback"
    webhook = f"{emu.api_base}/webhooks/{world.bot_user.id}/{pressed.token}"

    async with aiohttp.ClientSession() as http:
        # No follow-up before the interaction is acknowledged.
        assert (await _post(http, webhook + "?wait=1", {"content": "early"}))[1]["code"] == 10015
        status, body = await _post(http, callback + "?with_response=1",
                                   {"type": 4, "data": {"content": "Only you", "flags": 64}})
        assert status == 200
        assert body["interaction"]["response_message_ephemeral"] is True
        assert body["resource"]["message"]["content"] == "Only you"
        status, body = await _post(http, callback, {"type": 4, "data": {"content": "again"}})
        assert (status, body["code"]) == (400, 40060)

        status, body = await _post(http, webhook + "?wait=1", {"content": "For all"})
        assert status == 200 and body["webhook_id"] == str(world.bot_user.id)
        assert body["interaction_metadata"]["user"]["id"] == str(world.owner.id)
        status, body = await _post(http, webhook + "/messages/@original", {"content": "Only you, edited"}, "PATCH")
        assert status == 200 and body["flags"] & 64

        emu.expire_interaction(pressed)
        status, body = await _post(http, webhook + "?wait=1", {"content": "late"})
        assert (status, body["code"]) == (401, 50027)

    assert [m.content for m in pressed.ephemeral_replies] == ["Only you, edited"]
    assert [m.content for m in pressed.public_replies] == ["For all"]
    assert emu.messages(world.channel)[-1].content == "For all"
    assert emu.internal_errors == []


async def test_deferred_channel_message_is_filled_by_the_first_followup(emu: Emulator, world: World) -> None:
    channel = emu.state.channels[world.channel.id]
    asked = emu.ops.create_message(channel, world.bot_user.id, "Pick", components=_button_row("A"))
    pressed = await emu.press_button(asked, world.owner, "A", wait=False)
    async with aiohttp.ClientSession() as http:
        status, body = await _post(http, f"{emu.api_base}/interactions/{pressed.id}/{pressed.token}/callback"
                                   "?with_response=1", {"type": 5})
        assert status == 200 and body["interaction"]["response_message_loading"] is True
        webhook = f"{emu.api_base}/webhooks/{world.bot_user.id}/{pressed.token}"
        await _post(http, webhook + "?wait=1", {"content": "Done thinking"})
        await _post(http, webhook + "?wait=1", {"content": "And one more"})
    assert [(m.content, m.flags & 128) for m in pressed.messages] == [("Done thinking", 0), ("And one more", 0)]


async def test_a_late_callback_is_refused(emu: Emulator, world: World) -> None:
    channel = emu.state.channels[world.channel.id]
    asked = emu.ops.create_message(channel, world.bot_user.id, "Pick", components=_button_row("A"))
    pressed = await emu.press_button(asked, world.owner, "A", timeout=0.05)
    assert pressed.failed
    async with aiohttp.ClientSession() as http:
        status, body = await _post(http, f"{emu.api_base}/interactions/{pressed.id}/{pressed.token}/callback",
                                   {"type": 6})
    assert (status, body["code"]) == (404, 10062)


async def test_presses_a_client_cannot_make_are_refused(emu: Emulator, world: World) -> None:
    channel = emu.state.channels[world.channel.id]
    components = [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Off", "custom_id": "off", "disabled": True},
        {"type": 2, "style": 5, "label": "Docs", "url": "https://example.org"},
        {"type": 2, "style": 1, "label": "On", "custom_id": "on"},
    ]}]
    asked = emu.ops.create_message(channel, world.bot_user.id, "Pick", components=components)
    outsider = emu.create_user("outsider")
    for which, user, why in ((1, world.owner, "disabled"), ("Docs", world.owner, "link"),
                             ("nope", world.owner, "no button"), ("On", outsider, "cannot see")):
        try:
            await emu.press_button(asked, user, which)
        except (ValueError, LookupError) as exc:
            assert why in str(exc)
        else:
            raise AssertionError(f"pressing {which!r} should fail ({why})")
    assert emu.interactions == []


async def test_components_are_validated_like_discord(emu: Emulator, world: World) -> None:
    url = f"{emu.api_base}/channels/{world.channel.id}/messages"
    headers = {"Authorization": f"Bot {world.token}"}
    button = {"type": 2, "style": 1, "label": "x" * 81, "custom_id": "c" * 101}
    bad: list[dict[str, Any]] = [
        {"type": 1, "components": [button]},
        {"type": 1, "components": [{"type": 2, "style": 5, "label": "L", "url": "https://a.b", "custom_id": "l"}]},
        {"type": 1, "components": [{"type": 2, "style": 1, "label": str(i), "custom_id": f"b{i}"} for i in range(6)]},
        {"type": 2, "style": 1, "label": "not in a row", "custom_id": "loose"},
    ] + [{"type": 1, "components": [{"type": 2, "style": 2, "label": "ok", "custom_id": "same"}]} for _ in range(2)]
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(url, json={"content": "hi", "components": bad}) as response,
    ):
        assert response.status == 400
        body = await response.json()
    assert body["code"] == 50035
    errors = body["errors"]["components"]
    assert errors["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"  # 6 rows
    assert set(errors["0"]["components"]["0"]) == {"label", "custom_id"}
    assert "custom_id" in errors["1"]["components"]["0"]
    assert errors["2"]["components"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert "type" in errors["3"]
    assert "4" not in errors  # the first "same" is fine; the second duplicates it
    assert errors["5"]["components"]["0"]["custom_id"]["_errors"][0]["code"] == "COMPONENT_CUSTOM_ID_DUPLICATED"


class Busy(discord.ui.View):
    """Every response route discord.py has for a component interaction, in one press each."""

    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.seen: dict[str, Any] = {}
        self.errors: list[BaseException] = []

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: Any) -> None:
        self.errors.append(error)

    @discord.ui.button(label="Talk", custom_id="busy:talk")
    async def talk(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message("first")
        self.seen["original"] = (await interaction.original_response()).content
        second = await interaction.followup.send("second", wait=True)
        await second.edit(content="second, edited")
        await interaction.edit_original_response(content="first, edited")
        await interaction.followup.send(file=discord.File(io.BytesIO(b"hello"), "note.txt"))
        await interaction.delete_original_response()
        self.seen["done"] = True

    @discord.ui.button(label="Think", custom_id="busy:think")
    async def think(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await interaction.followup.send("thought it over")
        self.seen["thought"] = True


async def test_every_response_route_discord_py_uses(emu: Emulator, world: World, bots: BotRunner) -> None:
    bot = await bots.start(world.token)
    view = Busy()
    sent = await bot.get_channel(world.channel.id).send("Busy", view=view)  # type: ignore[union-attr]

    talk = await emu.press_button(emu.current_message(sent.id), world.owner, "Talk")
    await emu.wait_until(lambda: "done" in view.seen or bool(view.errors))
    assert view.errors == [] and view.seen["original"] == "first"
    first, second, upload = talk.messages
    assert first.id in emu.deleted_message_ids(world.channel)
    assert second.content == "second, edited" and emu.current_message(second).content == "second, edited"
    assert [a.filename for a in upload.attachments] == ["note.txt"] and upload.attachments[0].data == b"hello"

    think = await emu.press_button(emu.current_message(sent.id), world.owner, "Think")
    await emu.wait_until(lambda: "thought" in view.seen or bool(view.errors))
    assert view.errors == []
    [answer] = think.messages
    assert answer.content == "thought it over" and answer.visible_to == world.owner.id and not answer.flags & 128
    assert emu.ephemeral_messages(world.owner) == [answer]
    assert emu.internal_errors == [] and emu.unknown_routes == []
