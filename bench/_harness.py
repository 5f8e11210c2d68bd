"""Shared bench plumbing: instance folders for N bots, the emulator's world, RSS, schema cleanup."""

from __future__ import annotations

import asyncio
import resource
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor.emulator import Channel, Emulator, P, User
from tests.support import DaemonProcess

CORE_ONLY = "[features]\nmoderation = false\n"


@dataclass
class Bot:
    name: str
    token: str
    user: User
    channel: Channel
    speaker: User
    prefix: str


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def make_bots(emu: Emulator, root: Path, count: int, database_url: str, run_id: str, *, members: int = 100,
              config_extra: str = CORE_ONLY, prefix: str = "!") -> list[Bot]:
    bots = []
    for index in range(count):
        name = f"b{run_id}{index:04d}"
        token = f"{name}.{secrets.token_hex(8)}"
        user = emu.add_application(token, name)
        owner = emu.create_user(f"{name}-owner")
        guild = emu.create_guild(f"{name} guild", owner)
        channel = emu.create_channel(guild, "general")
        role = emu.create_role(guild, "bot", int(P.ADMINISTRATOR), position=5)
        emu.add_bot_to_guild(guild, user, roles=[role])
        for member_index in range(members - 2):
            emu.add_member(guild, emu.create_user(f"{name}-m{member_index}"))
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "config.toml").write_text(f'bot_name = "{name}"\ncommand_prefix = "{prefix}"\n{config_extra}')
        (folder / "personality.txt").write_text("You are a benchmark bot.")
        (folder / ".env").write_text(f"DISCORD_TOKEN={token}\nDB_SCHEMA=bench_{name}\nDATABASE_URL={database_url}\n")
        bots.append(Bot(name, token, user, channel, owner, prefix))
    return bots


async def start_daemon(emu: Emulator, root: Path, work: Path, *extra: str) -> tuple[DaemonProcess, float]:
    """Start the daemon and return it with the seconds until every instance was running."""
    daemon = DaemonProcess(root, work, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--log-level", "INFO", *extra))
    started = time.perf_counter()
    await daemon.start()
    await daemon.wait_log(lambda e: e.get("event") == "daemon ready", timeout=600)
    return daemon, time.perf_counter() - started


async def ping_median_ms(emu: Emulator, bots: list[Bot], rounds: int = 30) -> float:
    times = []
    for index in range(rounds):
        bot = bots[index % len(bots)]
        started = time.perf_counter()
        await emu.send_message(bot.channel, bot.speaker, f"{bot.prefix}ping")
        await emu.wait_for_bot_message(channel=bot.channel, bot=bot.user, timeout=10)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def drop_schemas(database_url: str, prefix: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        names = await connection.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", f"{prefix}%")
        for row in names:
            await connection.execute(f'DROP SCHEMA "{row["nspname"]}" CASCADE')
    finally:
        await connection.close()


def database_url() -> tuple[str, object]:
    from tests.support import postgres

    return postgres.find_or_start()


async def settle(seconds: float = 1.0) -> None:
    await asyncio.sleep(seconds)
