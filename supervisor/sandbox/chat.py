"""The sandbox's terminal chat: lines become messages; bots' replies are printed as they arrive.

Works the same from a keyboard or a pipe (one line per message), so a session can be scripted.
"""

from __future__ import annotations

import asyncio
import io
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from supervisor.commands.control_client import render_status
from supervisor.emulator import Emulator, Message
from supervisor.sandbox import buttons, mentions
from supervisor.sandbox.market import SimulatedMarket, render_market
from supervisor.sandbox.render import render_message
from supervisor.sandbox.world import InstanceGuild, SandboxWorld

QUIET_SECONDS = 0.4  # after a message, wait until bots have been quiet this long before reading the next line
MAX_WAIT_SECONDS = 8.0

HELP = """\
Type a message to post it in the current channel, as the current member. Sandbox commands:
  /help             this text
  /guild NAME       switch to the guild of instance NAME
  /channel NAME     switch channel (general, mod-log)
  /as MEMBER        speak as another member (you, alice, bob, carol, dave)
  /press N          press button N of the latest bot message with buttons, as the current member
  /members          the current guild's members and their roles
  /bans             the current guild's bans
  /market           the simulated stock market's prices (for `!stock`)
  /status           the supervisor's status table
  /quit             leave the sandbox (Ctrl-D works too)"""


def stdin_lines(loop: asyncio.AbstractEventLoop, source: TextIO) -> asyncio.Queue[str | None]:
    """Lines from `source` on a daemon thread (a blocking read must never hold up the event loop or exit)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        for line in source:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="sandbox-stdin", daemon=True).start()
    return queue


class Chat:
    def __init__(self, emu: Emulator, world: SandboxWorld, statuses: Callable[[], list[dict]], out: TextIO):
        self.emu = emu
        self.world = world
        self.statuses = statuses
        self.out = out
        self.instance: str | None = None
        self.channel_name = "general"
        self.speaker = "you"
        self._last_bot_message = 0.0
        self.market: SimulatedMarket | None = None  # the sandbox's stock prices, when it serves them
        emu.ops.message_listeners.append(self._on_message)
        emu.ops.edit_listeners.append(self._on_edit)

    # -- output ------------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _on_message(self, message: Message) -> None:
        author = self.emu.state.users.get(message.author_id)
        if author is None or not author.bot:
            return
        self._last_bot_message = time.monotonic()
        place = self._describe(message.channel_id)
        self.say(buttons.decorate(render_message(place, author.username, message.content, message.embeds),
                                  message, self._name_of))

    def _on_edit(self, message: Message) -> None:
        author = self.emu.state.users.get(message.author_id)
        if author is None or not author.bot:
            return
        self._last_bot_message = time.monotonic()
        place = self._describe(message.channel_id)
        rendered = render_message(place, f"{author.username} (edited)", message.content, message.embeds)
        self.say(buttons.decorate(rendered, message, self._name_of))

    def _name_of(self, user_id: int) -> str:
        user = self.emu.state.users.get(user_id)
        return user.username if user is not None else str(user_id)

    def _describe(self, channel_id: int) -> str:
        for world in self.world.guilds.values():
            for name, channel in world.channels.items():
                if channel.id == channel_id:
                    return f"{world.name} #{name}"
        return f"channel {channel_id}"

    @property
    def current(self) -> InstanceGuild | None:
        return self.world.guilds.get(self.instance or "")

    def prompt(self) -> str:
        return f"[{self.instance} #{self.channel_name}] {self.speaker}> "

    # -- input -------------------------------------------------------------------------------------
    async def run(self, source: TextIO = sys.stdin) -> None:
        if self.instance is None and self.world.guilds:
            self.instance = "example" if "example" in self.world.guilds else sorted(self.world.guilds)[0]
        interactive = source.isatty() if not isinstance(source, io.StringIO) else False
        lines = stdin_lines(asyncio.get_running_loop(), source)
        while True:
            if interactive:
                print(self.prompt(), end="", file=self.out, flush=True)
            line = await lines.get()
            if line is None:
                break
            if not line.strip():
                continue
            if not interactive:
                self.say(f"{self.prompt()}{line}")
            if line.startswith("/"):
                if not await self.command(line):
                    return
            else:
                await self.post(line)
        await self.quiet()

    async def post(self, text: str) -> None:
        world = self.current
        if world is None:
            self.say("No instance is running in the sandbox; add an instance folder, or see the log.")
            return
        channel = world.channels[self.channel_name]
        names = {**{n: u.id for n, u in world.members.items()}, "bot": world.bot_user.id, world.name: world.bot_user.id}
        await self.emu.send_message(channel, world.members[self.speaker], mentions.resolve(text, names))
        await self.quiet()

    async def quiet(self) -> None:
        """Wait for the bots' replies: until nothing arrived for QUIET_SECONDS (at most MAX_WAIT_SECONDS)."""
        started = time.monotonic()
        await asyncio.sleep(QUIET_SECONDS)
        while time.monotonic() - started < MAX_WAIT_SECONDS:
            since = time.monotonic() - self._last_bot_message
            if since >= QUIET_SECONDS:
                return
            await asyncio.sleep(QUIET_SECONDS - since)

    async def command(self, line: str) -> bool:
        """Run a sandbox command; False means quit."""
        word, _, argument = line[1:].partition(" ")
        argument = argument.strip()
        world = self.current
        if word in ("quit", "exit", "q"):
            return False
        if word == "help":
            self.say(HELP)
        elif word == "guild":
            if argument in self.world.guilds:
                self.instance, self.channel_name = argument, "general"
                self.say(f"Now in {argument}'s guild, #general.")
            else:
                self.say(f"No instance {argument!r}. Instances: {', '.join(sorted(self.world.guilds)) or 'none'}")
        elif word == "channel" and world is not None:
            name = argument.lstrip("#")
            if name in world.channels:
                self.channel_name = name
                self.say(f"Now in #{name}.")
            else:
                self.say(f"No channel {argument!r}. Channels: {', '.join(world.channels)}")
        elif word == "as" and world is not None:
            if argument in world.members:
                self.speaker = argument
                self.say(f"You now speak as {argument}.")
            else:
                self.say(f"No member {argument!r}. Members: {', '.join(world.members)}")
        elif word == "members" and world is not None:
            for name, user in world.members.items():
                roles = [r.name for r in world.roles.values() if r.id in self.emu.member_roles(world.guild, user)]
                owner = " (owner)" if user.id == world.guild.owner_id else ""
                present = "" if self.emu.member(world.guild, user) else " (not in the guild)"
                self.say(f"  {name}{owner}: {', '.join(roles) or 'no roles'}{present}")
        elif word == "bans" and world is not None:
            bans = self.emu.bans(world.guild)
            names = {u.id: n for n, u in world.members.items()}
            self.say("  " + ("\n  ".join(f"{names.get(uid, uid)}: {reason or 'no reason'}"
                                          for uid, reason in bans.items()) or "no bans"))
        elif word == "press" and world is not None:
            problem = await buttons.press(self.emu, world.channels[self.channel_name].id,
                                          world.members[self.speaker].id, argument)
            if problem:
                self.say(problem)
            await self.quiet()
        elif word == "market":
            self.say(render_market(self.market))
        elif word == "status":
            render_status(self.statuses(), self.out)
        else:
            self.say(f"Unknown sandbox command /{word}. Type /help.")
        return True
