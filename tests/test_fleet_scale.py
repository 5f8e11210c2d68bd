"""The daemon at scale, seen from two instances: per-instance reloads that still honour the rules between
instances, and gateway connections whose memory cost is fixed, also for a bot that falls behind."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from supervisor.emulator import Emulator
from tests.support import BotWorld, DaemonProcess, InstanceFolders, add_bot, eventually, status

pytestmark = pytest.mark.e2e  # the daemon as a separate process


def save(path: Path, text: str) -> None:
    """Save like an editor does: write a new file, then rename it over the old one."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    os.replace(temporary, path)


async def pong(emu: Emulator, bot: BotWorld) -> bool:
    await emu.send_message(bot.channel, bot.owner, f"{bot.prefix}ping")
    reply = await emu.wait_for_bot_message(channel=bot.channel, bot=bot.bot_user, timeout=10)
    return reply.content.startswith("Pong")


class Pair:
    def __init__(self, emu: Emulator, a: BotWorld, b: BotWorld, daemon: DaemonProcess):
        self.emu, self.a, self.b, self.daemon = emu, a, b, daemon

    def sessions(self) -> tuple[int, ...]:
        return tuple(f(bot.token) for bot in (self.a, self.b) for f in (self.emu.identify_count,
                                                                         self.emu.resume_count))

    async def rejected(self, expected: dict[str, bool]) -> bool:
        shown = await status(self.daemon)
        return all((shown[name]["rejected"] is not None) == rejected for name, rejected in expected.items())


@pytest_asyncio.fixture
async def pair(emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
               unique) -> AsyncIterator[Pair]:
    a = add_bot(emu, instances, "alpha", prefix="!", schema=unique("scale_a"), database_url=database_url)
    b = add_bot(emu, instances, "beta", prefix="?", schema=unique("scale_b"), database_url=database_url)
    schemas += [a.schema, b.schema]
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
    await daemon.start()
    try:
        await daemon.wait_running("alpha", "beta")
        yield Pair(emu, a, b, daemon)
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]


async def test_an_edit_taking_another_instances_schema_rejects_both_until_undone(pair: Pair) -> None:
    a, b = pair.a, pair.b
    good_env = (b.folder / ".env").read_text()
    save(b.folder / ".env", good_env.replace(f"DB_SCHEMA={b.schema}", f"DB_SCHEMA={a.schema}"))
    # Only beta's files changed, yet alpha is told too: the rule is between the two.
    await eventually(lambda: pair.rejected({"alpha": True, "beta": True}))
    shown = await status(pair.daemon)
    assert f"schema '{a.schema}' is also used by instance 'beta'" in shown["alpha"]["rejected"]
    assert f"schema '{a.schema}' is also used by instance 'alpha'" in shown["beta"]["rejected"]
    # Both keep running on their last good config meanwhile.
    assert await pong(pair.emu, a) and await pong(pair.emu, b)

    save(b.folder / ".env", good_env)
    await eventually(lambda: pair.rejected({"alpha": False, "beta": False}))
    assert pair.sessions() == (1, 0, 1, 0)  # nobody reconnected


async def test_gateway_connections_keep_no_compression_window(pair: Pair) -> None:
    """zstd-stream's window (megabytes, kept per connection) made busy bots grow, zlib-stream's costs 40 KB per
    bot: the daemon asks for no transport compression (large payloads still come compressed, each alone)."""
    assert pair.emu.gateway.compressions == [None, None]
    assert await pong(pair.emu, pair.a)


async def test_a_bot_far_behind_reads_its_whole_backlog_on_the_same_session(pair: Pair) -> None:
    """The daemon's gateway reads yield to the event loop before each message (so a backlog's listener tasks
    never pile up): hundreds of messages queued at once are still all read, in order, on the same session, and
    a RECONNECT is still answered with a RESUME (discord.py's closing of the socket is unchanged)."""
    for index in range(600):  # send_message never waits: all 600 are queued before the bot reads one
        await pair.emu.send_message(pair.a.channel, pair.a.owner, f"chatter {index} " + "lorem ipsum " * (index % 8))
    assert await pong(pair.emu, pair.a)  # the command behind the backlog is answered
    assert await pong(pair.emu, pair.b)
    assert pair.sessions() == (1, 0, 1, 0)  # nobody reconnected or resumed

    assert await pair.emu.force_reconnect(pair.a.token) == 1
    await eventually(lambda: pair.sessions() == (1, 1, 1, 0))
    assert await pong(pair.emu, pair.a)
