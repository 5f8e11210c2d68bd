"""Several daemons as several "hosts" on one machine: each its own copy of the instances tree, its own runtime
directory and control socket, one database and one emulator; and a watch on gateway sessions per token."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.daemon.control import ControlUnavailable, request
from supervisor.emulator import Emulator
from tests.support.daemon import DaemonProcess
from tests.support.folders import InstanceFolders
from tests.support.world import BotWorld, add_bot

SAMPLE_SECONDS = 0.1


@dataclass
class Hosts:
    emu: Emulator
    root: Path
    bots: list[BotWorld]
    fleet_schema: str
    daemons: list[DaemonProcess] = field(default_factory=list)

    def tree(self, index: int) -> Path:
        return self.root / f"host{index}" / "instances"

    def add_daemon(self, database_url: str | None = None, extra_args: tuple[str, ...] = (),
                   program: tuple[str, ...] = ("-m", "supervisor")) -> DaemonProcess:
        """Another host: a copy of the tree (its .env files pointing at `database_url` if given); `program`: what
        the interpreter runs (a wrapper of the CLI, e.g. tests/support/loop_holder.py)."""
        index = len(self.daemons)
        tree = self.tree(index)
        shutil.copytree(self.root / "origin", tree)
        if database_url is not None:
            for env in tree.glob("*/.env"):
                lines = [line for line in env.read_text().splitlines() if not line.startswith("DATABASE_URL=")]
                env.write_text("\n".join([*lines, f"DATABASE_URL={database_url}"]) + "\n")
        daemon = DaemonProcess(tree, self.root / f"host{index}", api_base=self.emu.api_base,
                               gateway_url=self.emu.gateway_url,
                               extra_args=("--fleet-schema", self.fleet_schema, "--backoff-first", "0.5",
                                           *extra_args), program=program)
        self.daemons.append(daemon)
        return daemon

    async def running(self, daemon: DaemonProcess) -> set[str]:
        """The instances `daemon` runs now (empty when it does not answer, e.g. frozen)."""
        try:
            async with asyncio.timeout(3):
                answer = await request(daemon.control_socket, {"command": "status"}, timeout=3)
        except (ControlUnavailable, TimeoutError, OSError):
            return set()
        return {item["name"] for item in answer.get("instances", []) if item["state"] == "running"}

    async def placement(self, among: list[DaemonProcess] | None = None) -> dict[str, list[int]]:
        """Instance -> the indexes of the daemons that run it."""
        where: dict[str, list[int]] = {bot.name: [] for bot in self.bots}
        for index, daemon in enumerate(self.daemons):
            if among is not None and daemon not in among:
                continue
            for name in await self.running(daemon):
                where.setdefault(name, []).append(index)
        return where

    async def runs_once(self, among: list[DaemonProcess]) -> dict[str, list[int]] | None:
        """The placement when every bot runs exactly once among `among`, with one gateway session; else None."""
        where = await self.placement(among)
        if not all(len(on) == 1 for on in where.values()) or not all(
                self.emu.session_count(bot.token) == 1 for bot in self.bots):
            return None
        return where

    async def settled(self, among: list[DaemonProcess]) -> dict[str, list[int]] | None:
        """The placement when every bot runs exactly once among `among`, with one gateway session, and the
        daemons of `among` run an even share each (within one); else None."""
        where = await self.runs_once(among)
        if where is None:
            return None
        loads = [sum(on == [self.daemons.index(d)] for on in where.values()) for d in among]
        return where if max(loads) - min(loads) <= 1 else None

    async def wait_settled(self, among: list[DaemonProcess], timeout: float = 90.0,
                           evenly: bool = True) -> dict[str, list[int]]:
        """Until every bot runs once among `among`, evenly spread over them (or anyhow, `evenly=False`: a
        takeover, before the handoffs that even the shares out one at a time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            where = await (self.settled(among) if evenly else self.runs_once(among))
            if where is not None:
                return where
            assert loop.time() < deadline, f"not settled: {await self.placement()}"
            await asyncio.sleep(0.2)

    async def stop_all(self) -> None:
        for daemon in self.daemons:
            if daemon.process is not None:
                with contextlib.suppress(Exception):
                    await daemon.stop()


def make_hosts(emu: Emulator, root: Path, database_url: str, unique: object, schemas: list[str],
               count: int) -> Hosts:
    """`count` bots in an origin tree (each its own token, guild and schema) that hosts copy."""
    origin = InstanceFolders(root / "origin")
    bots = []
    for index in range(count):
        schema = unique(f"hosts{index}")  # type: ignore[operator]
        schemas.append(schema)
        bots.append(add_bot(emu, origin, f"bot{index}", prefix="!", schema=schema, database_url=database_url,
                            config_extra='command_root = ""\n'))
    fleet_schema = unique("fleet")  # type: ignore[operator]
    schemas.append(fleet_schema)
    return Hosts(emu, root, bots, fleet_schema)


class SessionSampler:
    """Every 100 ms, the live gateway sessions of each token: the most seen at once, and when."""

    def __init__(self, emu: Emulator, tokens: list[str]):
        self.emu = emu
        self.tokens = tokens
        self.most = 0
        self.doubled: list[tuple[float, str]] = []  # (time, token) of each sample with two or more
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SessionSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            for token in self.tokens:
                count = self.emu.session_count(token)
                self.most = max(self.most, count)
                if count >= 2:
                    self.doubled.append((time.monotonic(), token))
            await asyncio.sleep(SAMPLE_SECONDS)

    def overlap_seconds(self) -> float:
        """The emulator's own exact figure (every identify, resume and close), summed over the tokens."""
        return sum(self.emu.session_overlap(token) for token in self.tokens)


class Pinger:
    """`!ping` to each bot every `interval` seconds; then, per ping, how many replies it got."""

    def __init__(self, emu: Emulator, bots: list[BotWorld], interval: float = 0.1):
        self.emu = emu
        self.bots = bots
        self.interval = interval
        self.sent: list[tuple[BotWorld, int]] = []  # (bot, message id)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Pinger:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def ping_once(self) -> None:
        for bot in self.bots:
            message = await self.emu.send_message(bot.channel, bot.owner, "!ping")
            self.sent.append((bot, message.id))

    async def _run(self) -> None:
        while True:
            await self.ping_once()
            await asyncio.sleep(self.interval)

    def replies(self) -> list[int]:
        """How many replies each ping got, in the order sent."""
        counts: dict[int, int] = {}
        for message in self.emu.bot_messages:
            if message.reference_id is not None:
                counts[message.reference_id] = counts.get(message.reference_id, 0) + 1
        return [counts.get(message_id, 0) for _, message_id in self.sent]
