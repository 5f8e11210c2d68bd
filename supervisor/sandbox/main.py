"""Run the sandbox: the emulator and the supervisor in this process, and a chat on the terminal."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pwd
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from supervisor import logs
from supervisor.ai.config import SANDBOX_MODEL_OPTION
from supervisor.daemon.main import Daemon, DaemonOptions
from supervisor.daemon.runner import RuntimeOptions
from supervisor.daemon.status import State
from supervisor.emulator import Emulator
from supervisor.sandbox.chat import Chat
from supervisor.sandbox.market import SimulatedMarket
from supervisor.sandbox.model import SandboxModel
from supervisor.sandbox.world import SandboxWorld
from supervisor.settings import SupervisorSettings

START_WAIT_SECONDS = 120.0


def bundled_postgres_home(state_dir: Path) -> Path:
    """Where the sandbox's bundled PostgreSQL keeps its data.

    PostgreSQL refuses to run as root. A root sandbox (a fresh VM's root shell, a container) whose state
    directory belongs to root runs it as `nobody` in a throwaway directory instead: sandbox data is disposable.
    A real daemon never does this; it says how to run as an ordinary user.
    """
    if os.geteuid() != 0 or (state_dir.exists() and state_dir.stat().st_uid != 0):
        return state_dir
    nobody = pwd.getpwnam("nobody")
    home = Path(tempfile.mkdtemp(prefix="discord-supervisor-sandbox-"))
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    home.chmod(0o755)
    return home


async def sandbox(settings: SupervisorSettings, state_dir: Path, source: TextIO, out: TextIO) -> int:
    emu = Emulator()
    await emu.start()
    model = SandboxModel()  # instances without a configured AI provider chat with this stand-in
    model_url = await model.start()
    settings = dataclasses.replace(settings, api_base_url=emu.api_base, gateway_url=emu.gateway_url, sandbox=True)
    world = SandboxWorld(emu)
    # Stock prices: the simulated market, unless --finnhub-url points at a real (or other) Finnhub.
    market = None if settings.finnhub_url else SimulatedMarket()
    upstreams = settings.upstreams()
    if market is not None:
        # Instances without a FINNHUB_API_KEY borrow this one: only the local market ever sees it.
        upstreams = {"finnhub_url": await market.start(), "finnhub_fallback_key": "sandbox"}
    upstreams = {**upstreams, SANDBOX_MODEL_OPTION: model_url}
    postgres_home = bundled_postgres_home(state_dir)
    options = DaemonOptions(
        runtime=RuntimeOptions(guild_ready_timeout=0.2, upstreams=upstreams),
        control_socket=state_dir / "run" / "sandbox.sock",
        state_dir=postgres_home,
    )
    daemon = Daemon(settings, options, before_start=world.ensure)
    chat = Chat(emu, world, daemon.fleet.statuses, out)
    chat.market = market
    try:
        await daemon.start()
        await daemon.fleet.wait_settled(START_WAIT_SECONDS)
        running = sorted(name for name, r in daemon.fleet.runners.items() if r.status.state is State.RUNNING)
        chat.say(f"discord-supervisor sandbox: {len(running)} instance(s) running ({', '.join(running) or 'none'}) "
                 f"against a local Discord emulator; nothing leaves this machine.")
        for status in daemon.fleet.statuses():
            if status["state"] != State.RUNNING:
                chat.say(f"  {status['name']}: {status['state']}: {status['last_error'] or ''}")
        chat.say('You are "you", the owner of every instance\'s guild. Edits to the instance folders apply live. '
                 "Type a message, or /help.")
        await chat.run(source)
    finally:
        await daemon.stop()
        await model.stop()
        await emu.stop()
        if market is not None:
            await market.stop()
        if postgres_home != state_dir:
            shutil.rmtree(postgres_home, ignore_errors=True)
    return 0


def run(settings: SupervisorSettings, state_dir: Path, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    if not settings.instances_dir.is_dir():
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist", file=sys.stderr)
        return 1
    # The terminal is the chat: logs go to a file.
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = state_dir / "sandbox.log"
    print(f"(logs: {log_file})", file=out)
    with log_file.open("a", encoding="utf-8") as log_stream:
        logs.configure("INFO", json=True, stream=log_stream)
        try:
            return asyncio.run(sandbox(settings, state_dir, source, out))
        except KeyboardInterrupt:
            return 0
        finally:
            logging.shutdown()
