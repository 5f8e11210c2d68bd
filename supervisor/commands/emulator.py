"""`discord-supervisor emulator`: the Discord emulator on its own, for `run --api-base-url/--gateway-url`.

Each configured instance's token gets an application and a guild of its own (the sandbox's: #general, #mod-log,
members alice, bob, carol, dave), as do the tokens given with --token. Bots' messages are printed as they come.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any, TextIO

from supervisor.emulator import Emulator, Message
from supervisor.fleet_index import scan
from supervisor.sandbox.render import render_message
from supervisor.sandbox.world import SandboxWorld
from supervisor.settings import SupervisorSettings


async def serve(settings: SupervisorSettings, port: int, tokens: list[str], out: TextIO) -> int:
    specs = [r.spec for r in await asyncio.to_thread(scan, settings.instances_dir, settings.database_url) if r.spec]
    emu = Emulator()
    try:
        await emu.start(port=port)
    except OSError as error:
        print(f"error: cannot listen on 127.0.0.1:{port}: {error.strerror} (choose another --port)", file=sys.stderr)
        return 1
    world = SandboxWorld(emu)
    for spec in specs:
        world.ensure(spec)
    for index, token in enumerate(tokens, 1):
        world.add(f"token{index}", token, f"Bot {index}")

    def names(kind: str, snowflake: int) -> str | None:
        table: dict[str, dict[int, Any]] = {"user": emu.state.users, "channel": emu.state.channels}
        found = table.get(kind, {}).get(snowflake)
        return getattr(found, "username", None) or getattr(found, "name", None)

    def show(message: Message) -> None:
        author = emu.state.users.get(message.author_id)
        if author is not None and author.bot:
            channel = emu.state.channels.get(message.channel_id)
            where = f"#{channel.name}" if channel is not None else str(message.channel_id)
            print(render_message(where, author.username, message.content, message.embeds, names), file=out,
                  flush=True)

    emu.ops.message_listeners.append(show)
    print(f"Discord emulator on {emu.base_url} (loopback only; nothing reaches Discord).", file=out)
    for name, guild in world.guilds.items():
        members = ", ".join(guild.members)
        print(f"  {name}: application {guild.bot_user.id}, guild {guild.guild.id} "
              f"(#general, #mod-log; members {members})", file=out)
    if not world.guilds:
        print(f"  no configured instance in {settings.instances_dir}; pass --token TOKEN for a bot of your own",
              file=out)
    print("Point the daemon at it, in another terminal:", file=out)
    print(f"  discord-supervisor run --api-base-url {emu.api_base} --gateway-url {emu.gateway_url} "
          f"--ca-file {emu.voice.ca_file}", file=out, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.stop()
    return 0


def run(settings: SupervisorSettings, port: int, tokens: list[str], out: TextIO = sys.stdout) -> int:
    if not settings.instances_dir.is_dir() and not tokens:
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist (set --instances, "
              "or pass --token)", file=sys.stderr)
        return 1
    return asyncio.run(serve(settings, port, tokens, out))
