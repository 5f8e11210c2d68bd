"""The sandbox's own slash commands: one small function each, listed in SLASH_COMMANDS.

To add one, write `def name(chat, argument) -> None` (or async) below and decorate it with
`@slash("name", "ARG", "what it does")`; /help lists it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supervisor.commands.control_client import render_status
from supervisor.sandbox import buttons
from supervisor.sandbox.market import render_market

if TYPE_CHECKING:
    from supervisor.sandbox.chat import Chat

Handler = Callable[["Chat", str], "Awaitable[None] | None"]


@dataclass(frozen=True)
class SlashCommand:
    name: str
    usage: str
    summary: str
    handler: Handler
    needs_guild: bool = True


SLASH_COMMANDS: dict[str, SlashCommand] = {}


def slash(name: str, usage: str, summary: str, *, needs_guild: bool = True) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        SLASH_COMMANDS[name] = SlashCommand(name, usage, summary, handler, needs_guild)
        return handler

    return register


async def run_slash(chat: Chat, line: str) -> None:
    word, _, argument = line[1:].partition(" ")
    command = SLASH_COMMANDS.get(word)
    if command is None:
        chat.say(f"Unknown sandbox command /{word}. Type /help.")
        return
    if command.needs_guild and chat.current is None:
        chat.say("No instance is running in the sandbox; add an instance folder, or see the log.")
        return
    outcome: Any = command.handler(chat, argument.strip())
    if inspect.isawaitable(outcome):
        await outcome


@slash("help", "", "this text", needs_guild=False)
def show_help(chat: Chat, _argument: str) -> None:
    lines = ["Type a message to post it in the current channel, as the current member; @name and #channel become "
             "mentions. Sandbox commands:"]
    for command in SLASH_COMMANDS.values():
        lines.append(f"  /{command.name} {command.usage}".ljust(20) + command.summary)
    lines.append("  /quit".ljust(20) + "leave the sandbox (Ctrl-D works too)")
    chat.say("\n".join(lines))


@slash("guild", "NAME", "switch to the guild of instance NAME", needs_guild=False)
def switch_guild(chat: Chat, argument: str) -> None:
    if argument in chat.world.guilds:
        chat.instance, chat.channel_name = argument, "general"
        chat.say(f"Now in {argument}'s guild, #general.")
    else:
        chat.say(f"No instance {argument!r}. Instances: {', '.join(sorted(chat.world.guilds)) or 'none'}")


@slash("channel", "NAME", "switch channel (general, mod-log)")
def switch_channel(chat: Chat, argument: str) -> None:
    world = chat.current
    assert world is not None
    name = argument.lstrip("#")
    if name in world.channels:
        chat.channel_name = name
        chat.say(f"Now in #{name}.")
    else:
        chat.say(f"No channel {argument!r}. Channels: {', '.join(world.channels)}")


@slash("as", "MEMBER", "speak as another member (you, alice, bob, carol, dave)")
def speak_as(chat: Chat, argument: str) -> None:
    world = chat.current
    assert world is not None
    name = argument.lstrip("@")
    if name in world.members:
        chat.speaker = name
        chat.say(f"You now speak as {name}.")
    else:
        chat.say(f"No member {argument!r}. Members: {', '.join(world.members)}")


@slash("press", "N", "press button N of the latest bot message with buttons, as the current member")
async def press(chat: Chat, argument: str) -> None:
    world = chat.current
    assert world is not None
    problem = await buttons.press(chat.emu, world.channels[chat.channel_name].id, world.members[chat.speaker].id,
                                  argument)
    if problem:
        chat.say(problem)


@slash("members", "", "the current guild's members: roles and IDs")
def list_members(chat: Chat, _argument: str) -> None:
    world = chat.current
    assert world is not None
    emu = chat.emu
    for name, user in world.members.items():
        member = emu.member(world.guild, user)
        roles = [r.name for r in world.roles.values() if r.id in emu.member_roles(world.guild, user)]
        owner = " (owner)" if user.id == world.guild.owner_id else ""
        where = ", ".join(roles) or "no roles" if member else "not in the guild"
        chat.say(f"  {name} {user.id}{owner}: {where}")


@slash("join", "NAME", "a new member NAME joins the current guild (join role, welcome)")
async def join(chat: Chat, name: str) -> None:
    """A member joins the current guild (a new user, or one who left), so join role and welcome show."""
    world = chat.current
    assert world is not None
    if not name or " " in name:
        chat.say("Usage: /join NAME (one word)")
        return
    user = world.members.get(name) or chat.emu.create_user(name)
    if chat.emu.member(world.guild, user) is not None:
        chat.say(f"{name} is already a member here.")
        return
    world.members[name] = user
    chat.emu.add_member(world.guild, user)
    chat.say(f"{name} joined {world.guild.name}.")


@slash("bans", "", "the current guild's bans")
def list_bans(chat: Chat, _argument: str) -> None:
    world = chat.current
    assert world is not None
    bans = chat.emu.bans(world.guild)
    names = {u.id: n for n, u in world.members.items()}
    chat.say("  " + ("\n  ".join(f"{names.get(uid, uid)}: {reason or 'no reason'}"
                                  for uid, reason in bans.items()) or "no bans"))


@slash("status", "", "the supervisor's status table", needs_guild=False)
def show_status(chat: Chat, _argument: str) -> None:
    render_status(chat.statuses(), chat.output)


@slash("market", "", "the simulated stock market's prices (for `!stock`)", needs_guild=False)
def show_market(chat: Chat, _argument: str) -> None:
    chat.say(render_market(chat.market))
