"""Run the sandbox: the emulator and the supervisor in this process, and a chat on the terminal."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from pathlib import Path
from typing import TextIO

from supervisor import logs
from supervisor.daemon.main import Daemon, DaemonOptions
from supervisor.daemon.runner import RuntimeOptions
from supervisor.daemon.status import State
from supervisor.emulator import Emulator
from supervisor.sandbox.chat import Chat
from supervisor.sandbox.world import SandboxWorld
from supervisor.settings import SupervisorSettings

START_WAIT_SECONDS = 120.0


async def _wait_until_settled(daemon: Daemon) -> None:
    settled = {State.RUNNING, State.FAILED, State.BACKOFF, State.STOPPED}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_WAIT_SECONDS
    while loop.time() < deadline and any(r.status.state not in settled for r in daemon.fleet.runners.values()):
        await asyncio.sleep(0.05)


async def sandbox(settings: SupervisorSettings, state_dir: Path, source: TextIO, out: TextIO) -> int:
    emu = Emulator()
    await emu.start()
    settings = dataclasses.replace(settings, api_base_url=emu.api_base, gateway_url=emu.gateway_url, sandbox=True)
    world = SandboxWorld(emu)
    options = DaemonOptions(
        runtime=RuntimeOptions(guild_ready_timeout=0.2),
        control_socket=state_dir / "run" / "sandbox.sock",
        state_dir=state_dir,
    )
    daemon = Daemon(settings, options, before_start=world.ensure)
    chat = Chat(emu, world, lambda: [s.as_dict() for s in daemon.fleet.statuses()], out)
    try:
        await daemon.start()
        await _wait_until_settled(daemon)
        running = sorted(name for name, r in daemon.fleet.runners.items() if r.status.state is State.RUNNING)
        chat.say(f"discord-supervisor sandbox: {len(running)} instance(s) running ({', '.join(running) or 'none'}) "
                 f"against a local Discord emulator; nothing leaves this machine.")
        for status in daemon.fleet.statuses():
            if status.state is not State.RUNNING:
                chat.say(f"  {status.name}: {status.state}: {status.last_error or ''}")
        chat.say('You are "you", the owner of every instance\'s guild. Edits to the instance folders apply live. '
                 "Type a message, or /help.")
        await chat.run(source)
    finally:
        await daemon.stop()
        await emu.stop()
    return 0


def run(settings: SupervisorSettings, state_dir: Path, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    if not settings.instances_dir.is_dir():
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist", file=sys.stderr)
        return 1
    # The terminal is the chat: logs go to a file.
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = state_dir / "sandbox.log"
    logs.configure("INFO", json=True, stream=log_file.open("a", encoding="utf-8"))
    print(f"(logs: {log_file})", file=out)
    try:
        return asyncio.run(sandbox(settings, state_dir, source, out))
    except KeyboardInterrupt:
        return 0
    finally:
        logging.shutdown()
