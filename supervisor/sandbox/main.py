"""Run the sandbox: the emulator and the supervisor in this process, and a chat on the terminal."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

import asyncpg

from supervisor import logs
from supervisor.ai.config import SANDBOX_MODEL_OPTION
from supervisor.daemon.main import Daemon, DaemonOptions
from supervisor.daemon.runner import RuntimeOptions
from supervisor.daemon.status import State
from supervisor.database import quote_ident
from supervisor.dburl import redact_url
from supervisor.emulator import Emulator
from supervisor.pg.scratch import give_to_nobody_if_root
from supervisor.sandbox.chat import Chat
from supervisor.sandbox.market import SimulatedMarket
from supervisor.sandbox.model import SandboxModel
from supervisor.sandbox.nyt import NytStandIn
from supervisor.sandbox.tracks import SEARCH_OPTION, TrackServer
from supervisor.sandbox.voice import playing_lines
from supervisor.sandbox.world import SandboxWorld
from supervisor.settings import SupervisorSettings
from supervisor.web.listen import HttpListen

START_WAIT_SECONDS = 120.0
NOTICES = {"config_reloaded": "config reloaded", "config_rejected":
           "config rejected, still on the last good one"}


def bundled_postgres_home(state_dir: Path, keep: bool) -> Path:
    """Where the sandbox's own PostgreSQL keeps its data: a throwaway directory, or `<state-dir>/sandbox` (--keep).

    PostgreSQL refuses to run as root: a root sandbox gives the directory to `nobody`, and the server runs as it.
    """
    if keep:
        home = state_dir / "sandbox"
        home.mkdir(parents=True, exist_ok=True)
    else:
        home = Path(tempfile.mkdtemp(prefix="discord-supervisor-sandbox-"))
    give_to_nobody_if_root(home)
    return home


class Notices(logging.Handler):
    """Config reloads and rejections, from the daemon's log records, as one line each in the chat."""

    def __init__(self, chat: Chat, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self.chat, self.loop = chat, loop

    def emit(self, record: logging.LogRecord) -> None:
        event = record.msg if isinstance(record.msg, dict) else {}
        text = NOTICES.get(str(event.get("event")))
        if text is None:
            return
        detail = event.get("problems") or event.get("outcome")
        line = f"{event.get('instance', '?')}: {text}" + (f": {detail}" if detail else "")
        self.loop.call_soon_threadsafe(self.chat.notice, line)


def describe_database(specs: list, home: Path, keep: bool) -> str:
    urls = sorted({redact_url(s.database_url) for s in specs if s.database_url})
    kept = "kept across runs (--keep)" if keep else "dropped at exit (--keep keeps them)"
    parts = [f"{url} (DATABASE_URL), schemas sandbox_*, {kept}" for url in urls]
    if any(not s.database_url for s in specs) or not specs:
        parts.append(f"a private PostgreSQL in {home}, kept across runs (--keep)" if keep
                     else "a private PostgreSQL, thrown away at exit (--keep keeps it)")
    return "Database: " + "; ".join(parts) + "."


async def drop_schemas(specs: list) -> None:
    """Without --keep: the sandbox's schemas on a server of the user's own go when the sandbox does."""
    for spec in specs:
        if not spec.database_url:
            continue
        try:
            connection = await asyncpg.connect(spec.database_url, timeout=10)
            try:
                await connection.execute(f"DROP SCHEMA IF EXISTS {quote_ident(spec.schema)} CASCADE")
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError, TimeoutError):
            pass  # the server went away: nothing more to tidy


def _services(daemon: Daemon, name: str) -> dict | None:
    runner = daemon.fleet.runners.get(name)
    return runner.ctx.services if runner is not None and runner.ctx is not None else None


async def sandbox(settings: SupervisorSettings, state_dir: Path, source: TextIO, out: TextIO | None,
                  keep: bool = False) -> int:
    emu = Emulator()
    await emu.start()
    model = SandboxModel()  # instances without a configured AI provider chat with this stand-in
    model_url = await model.start()
    settings = dataclasses.replace(settings, api_base_url=emu.api_base, gateway_url=emu.gateway_url,
                                   ca_file=str(emu.voice.ca_file), sandbox=True)
    world = SandboxWorld(emu, stable_ids=keep)
    # Stock prices: the simulated market, unless --finnhub-url points at a real (or other) Finnhub.
    market = None if settings.finnhub_url else SimulatedMarket()
    upstreams = settings.upstreams()
    if market is not None:
        # Instances without a FINNHUB_API_KEY borrow this one: only the local market ever sees it.
        upstreams = {**upstreams, "finnhub_url": await market.start(), "finnhub_fallback_key": "sandbox"}
    tracks = TrackServer()  # `!m play chord`: the music feature's search term goes to the sandbox's own tracks
    upstreams = {**upstreams, SANDBOX_MODEL_OPTION: model_url, SEARCH_OPTION: await tracks.start()}
    # Wordle and Connections: the sandbox's own puzzles, unless --nyt-url points elsewhere.
    puzzles = None if settings.nyt_url else NytStandIn()
    if puzzles is not None:
        upstreams["nyt_url"] = await puzzles.start()
    postgres_home = bundled_postgres_home(state_dir, keep)
    options = DaemonOptions(
        runtime=RuntimeOptions(guild_ready_timeout=0.2, upstreams=upstreams),
        control_socket=state_dir / "run" / "sandbox.sock",
        state_dir=postgres_home,
        http_listen=HttpListen("127.0.0.1", 0),  # the web console on a free loopback port
    )
    daemon = Daemon(settings, options, before_start=world.ensure)
    chat = Chat(emu, world, daemon.fleet.statuses, out, history=state_dir / "sandbox_history")
    chat.market = market
    chat.playing = lambda: playing_lines(emu, world, lambda name: _services(daemon, name))
    notices = Notices(chat, asyncio.get_running_loop())
    logging.getLogger().addHandler(notices)
    try:
        await daemon.start()
        await daemon.fleet.wait_settled(START_WAIT_SECONDS)
        specs = [runner.spec for runner in daemon.fleet.runners.values()]
        running = sorted(name for name, r in daemon.fleet.runners.items() if r.status.state is State.RUNNING)
        chat.say(f"discord-supervisor sandbox: {len(running)} instance(s) running ({', '.join(running) or 'none'}) "
                 f"against a local Discord emulator; nothing leaves this machine.")
        chat.say(describe_database(specs, postgres_home, keep))
        if daemon.http is not None:
            chat.say(f"The web console: {daemon.http.url} (metrics: {daemon.http.url}metrics)")
        for status in daemon.fleet.statuses():
            if status["state"] != State.RUNNING:
                chat.say(f"  {status['name']}: {status['state']}: {status['last_error'] or ''}")
        chat.say('You are "you", the owner of every instance\'s guild. Edits to the instance folders apply live. '
                 "Type a message, or /help.")
        await chat.run(source)
    finally:
        logging.getLogger().removeHandler(notices)
        specs = [runner.spec for runner in daemon.fleet.runners.values()]
        await daemon.stop()
        await model.stop()
        await tracks.stop()
        await emu.stop()
        if market is not None:
            await market.stop()
        if puzzles is not None:
            await puzzles.stop()
        if not keep:
            await drop_schemas(specs)
            shutil.rmtree(postgres_home, ignore_errors=True)
    return 0


def run(settings: SupervisorSettings, state_dir: Path, source: TextIO = sys.stdin, out: TextIO | None = None,
        keep: bool = False) -> int:
    if not settings.instances_dir.is_dir():
        print(f"error: instances directory {str(settings.instances_dir)!r} does not exist", file=sys.stderr)
        return 1
    # The terminal is the chat: logs go to a file.
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = state_dir / "sandbox.log"
    print(f"(logs: {log_file})", file=out or sys.stdout)
    with log_file.open("a", encoding="utf-8") as log_stream:
        logs.configure("INFO", json=True, stream=log_stream)
        try:
            return asyncio.run(sandbox(settings, state_dir, source, out, keep))
        except KeyboardInterrupt:
            return 0
        finally:
            logging.shutdown()
