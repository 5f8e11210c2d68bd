"""The sandbox's terminal chat: lines become messages; bots' replies are printed as they arrive.

On a terminal: line editing and history (prompt_toolkit), and a message arriving while you type is printed above
the prompt, your line kept. From a pipe: one message per line, each followed by the bots' replies, so a session
can be scripted.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from supervisor.emulator import Emulator, Message
from supervisor.sandbox import buttons, mentions, voice  # noqa: F401  (voice registers /voice)
from supervisor.sandbox.market import SimulatedMarket
from supervisor.sandbox.render import render_message
from supervisor.sandbox.slash import run_slash
from supervisor.sandbox.world import InstanceGuild, SandboxWorld

QUIET_SECONDS = 0.4  # piped input: wait until bots have been quiet this long before reading the next line
MAX_WAIT_SECONDS = 8.0
QUIT = ("/quit", "/exit", "/q")
_TYPED_CHANNEL = re.compile(r"(?<![\w<#])#([a-z0-9][a-z0-9_-]*)")


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
    def __init__(self, emu: Emulator, world: SandboxWorld, statuses: Callable[[], list[dict]],
                 out: TextIO | None = None, history: Path | None = None):
        self.emu = emu
        self.world = world
        self.statuses = statuses
        self._out = out  # None: whatever sys.stdout is at the time (prompt_toolkit swaps it while prompting)
        self.history = history
        self.ansi = False
        self.instance: str | None = None
        self.channel_name = "general"
        self.speaker = "you"
        self._last_bot_message = 0.0
        self.market: SimulatedMarket | None = None  # the sandbox's stock prices, when it serves them
        self.playing: Callable[[], list[str]] = list  # what each bot plays (voice.playing_lines), for the prompt
        emu.ops.message_listeners.append(self._on_message)
        emu.ops.edit_listeners.append(self._on_edit)

    # -- output ------------------------------------------------------------------------------------
    @property
    def output(self) -> TextIO:
        return self._out or sys.stdout

    def say(self, text: str) -> None:
        print(text, file=self.output, flush=True)

    def notice(self, text: str) -> None:
        """A one-line note from the sandbox itself (a config reloaded or rejected)."""
        self.say(f"-- {text}")

    def _on_message(self, message: Message, edited: bool = False) -> None:
        author = self.emu.state.users.get(message.author_id)
        if author is None or not author.bot:
            return
        self._last_bot_message = time.monotonic()
        name = f"{author.username} (edited)" if edited else author.username
        rendered = render_message(self._describe(message.channel_id), name, message.content, message.embeds,
                                  self.name_of, self.ansi)
        self.say(buttons.decorate(rendered, message, self._user_name))

    def _on_edit(self, message: Message) -> None:
        self._on_message(message, edited=True)

    def _user_name(self, user_id: int) -> str:
        return self.name_of("user", user_id) or str(user_id)

    def name_of(self, kind: str, snowflake: int) -> str | None:
        state = self.emu.state
        if kind == "user":
            user = state.users.get(snowflake)
            return user.username if user else None
        if kind == "channel":
            channel = state.channels.get(snowflake)
            return channel.name if channel else None
        for guild in state.guilds.values():
            role = guild.roles.get(snowflake)
            if role is not None:
                return role.name
        return None

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
        playing = "".join(f"({line}) " for line in self.playing())
        return f"{playing}[{self.instance} #{self.channel_name}] {self.speaker}> "

    # -- input -------------------------------------------------------------------------------------
    async def run(self, source: TextIO = sys.stdin) -> None:
        if self.instance is None and self.world.guilds:
            self.instance = "example" if "example" in self.world.guilds else sorted(self.world.guilds)[0]
        if source.isatty() and self.output.isatty():
            await self._run_terminal()
        else:
            await self._run_piped(source)

    async def _run_piped(self, source: TextIO) -> None:
        lines = stdin_lines(asyncio.get_running_loop(), source)
        while (line := await lines.get()) is not None:
            if not line.strip():
                continue
            self.say(f"{self.prompt()}{line}")
            if not await self.handle(line):
                return
            await self.quiet()
        await self.quiet()

    async def _run_terminal(self) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.patch_stdout import patch_stdout

        self.ansi = True
        history = FileHistory(str(self.history)) if self.history else InMemoryHistory()
        session: PromptSession[str] = PromptSession(history=history)
        with patch_stdout(raw=True):
            while True:
                try:
                    # Redrawn twice a second: the packet counters of playing bots move.
                    line = await session.prompt_async(self.prompt, refresh_interval=0.5)
                except (EOFError, KeyboardInterrupt):
                    return
                if line.strip() and not await self.handle(line):
                    return

    async def handle(self, line: str) -> bool:
        """One typed line: a sandbox command or a message. False means quit."""
        if line.strip() in QUIT:
            return False
        if line.startswith("/"):
            await run_slash(self, line)
        else:
            await self.post(line)
        return True

    def with_mentions(self, world: InstanceGuild, text: str) -> str:
        """`@carol`, `@bot` and `#mod-log` as Discord clients send them: `<@id>` and `<#id>`."""
        people = {**{n: u.id for n, u in world.members.items()}, "bot": world.bot_user.id,
                  world.name: world.bot_user.id, world.bot_user.username: world.bot_user.id}
        text = mentions.resolve(text, people)
        return _TYPED_CHANNEL.sub(
            lambda m: f"<#{world.channels[m[1]].id}>" if m[1] in world.channels else m[0], text)

    async def post(self, text: str) -> None:
        world = self.current
        if world is None:
            self.say("No instance is running in the sandbox; add an instance folder, or see the log.")
            return
        author = world.members[self.speaker]
        if self.emu.member(world.guild, author) is None:
            banned = " (banned)" if author.id in self.emu.bans(world.guild) else ""
            self.say(f"{self.speaker} is not in {world.name}'s guild{banned} and cannot post there; "
                     "/as another member.")
            return
        await self.emu.send_message(world.channels[self.channel_name], author, self.with_mentions(world, text))

    async def quiet(self) -> None:
        """Wait for the bots' replies: until nothing arrived for QUIET_SECONDS (at most MAX_WAIT_SECONDS)."""
        started = time.monotonic()
        await asyncio.sleep(QUIET_SECONDS)
        while time.monotonic() - started < MAX_WAIT_SECONDS:
            since = time.monotonic() - self._last_bot_message
            if since >= QUIET_SECONDS:
                return
            await asyncio.sleep(QUIET_SECONDS - since)
