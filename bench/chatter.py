"""Busy bots: RSS of one supervised process while every bot receives a stream of gateway messages.

N instances (default features, one guild of 100 members each; 20 of them talk) receive M ordinary chat
messages each (MESSAGE_CREATE, not commands). RSS per bot is printed at 0, 1,000, 3,000 and M messages, once
with the supervisor's bounded caches and once with discord.py's defaults (`--discord-defaults`: a 1,000-message
cache and every member seen cached). A checkpoint waits until every bot has answered a `!ping` sent after its
messages, so each figure is taken after the daemon has read everything sent before it. Usage:

    python bench/chatter.py [--bots 300] [--messages 5000]

With `--workers 1,2` it measures throughput instead (docs/workers.md): for each count, `run --workers N` hosts the
bots, every bot receives M chat messages as fast as the emulator sends them, and the figure is messages handled
per second (the time until every bot answered a `!ping` sent after its last message). With 2 or more workers it
then kills one worker with SIGKILL while chatter and `!ping`s flow: how long until its bots answer again, how
many pings to the other workers' bots went unanswered (until the shares are even again), how many of those bots
were handed off meanwhile, and `lease_fenced` per run. Usage:

    python bench/chatter.py --workers 1,2 [--bots 100] [--messages 500] [--burst 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

from _harness import Bot, database_url, drop_schemas, make_bots, ping_ms, raise_fd_limit, rss_mb, start_daemon

from supervisor.emulator import Emulator

CHECKPOINTS = (1000, 3000)
SPEAKERS = 20
BATCH = 50  # messages per bot between yields to the event loop


def chatter_message(emu: Emulator, bot: Bot, template: dict, members: list[int], index: int) -> None:
    """One ordinary chat message from one of the bot's members, dispatched to the bot's gateway."""
    guild = emu.state.guilds[bot.guild.id]
    author = emu.state.users[members[index % len(members)]]
    text = f"chatter {index} from {author.username}: " + "lorem ipsum " * (index % 8)
    payload = {**template, "id": str(emu.state.new_message_id()), "content": text,
               "author": {**template["author"], "id": str(author.id), "username": author.username, "bot": False}}
    emu.gateway.dispatch_guild(guild, "MESSAGE_CREATE", payload, channel=emu.state.channel(bot.channel.id))


def chatter_payloads(emu: Emulator, bot: Bot) -> tuple[dict, list[int]]:
    """A real message's payload as a template, and the members who will talk."""
    members = [m for m in emu.state.guilds[bot.guild.id].members if m != bot.user.id][:SPEAKERS]
    template = emu.ops.message_payload(emu.state.messages[bot.channel.id][max(emu.state.messages[bot.channel.id])])
    return template, members


async def run(args: argparse.Namespace, db: str, run_id: str, defaults: bool) -> list[tuple[int, float]]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-chatter-"))
    try:
        bots = make_bots(emu, work / "instances", args.bots, db, run_id, config_extra="")
        daemon, _ = await start_daemon(emu, work / "instances", work,
                                       *(("--discord-defaults",) if defaults else ()))
        for bot in bots:  # a first message per bot: the template for the stream
            await ping_ms(emu, bot)
        templates = [chatter_payloads(emu, bot) for bot in bots]
        await asyncio.sleep(2.0)
        rss0 = rss_mb(daemon.pid)
        figures = [(0, rss0)]
        sent = 0
        marks = sorted({*CHECKPOINTS, args.messages} & set(range(1, args.messages + 1)))
        started = time.monotonic()
        for mark in marks:
            while sent < mark:
                step = min(BATCH, mark - sent)
                for bot, (template, members) in zip(bots, templates, strict=True):
                    for index in range(sent, sent + step):
                        chatter_message(emu, bot, template, members, index)
                    await asyncio.sleep(0)
                sent += step
            await asyncio.gather(*(ping_ms(emu, bot, timeout=600) for bot in bots))
            await asyncio.sleep(1.0)
            figures.append((mark, rss_mb(daemon.pid)))
            print(f"  ... {mark} messages per bot after {time.monotonic() - started:.0f} s: "
                  f"RSS {figures[-1][1]:.0f} MB (started at {rss0:.0f})", flush=True)
        await daemon.stop()
        return figures
    finally:
        await emu.stop()


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    results = {}
    try:
        for defaults in (False, True):
            label = "discord.py defaults" if defaults else "bounded (shipped)"
            print(f"{label}: {args.bots} bots x {args.messages} messages", flush=True)
            results[label] = await run(args, db, f"{run_id}{'d' if defaults else 'b'}", defaults)
    finally:
        await drop_schemas(db, f"bench_b{run_id}")
    print(f"\nRSS of one process with {args.bots} busy bots (MB per bot above the start in brackets):")
    marks = [mark for mark, _ in next(iter(results.values()))]
    print(f"{'messages per bot':>22} " + " ".join(f"{mark:>14}" for mark in marks))
    for label, figures in results.items():
        rss0 = figures[0][1]
        cells = [f"{rss:>6.0f} ({(rss - rss0) / args.bots:+.2f})" for _, rss in figures]
        print(f"{label:>22} " + " ".join(f"{cell:>14}" for cell in cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int)
    parser.add_argument("--messages", type=int)
    parser.add_argument("--workers", help="comma-separated worker counts: measure throughput and a kill -9")
    parser.add_argument("--burst", type=int, default=50, help="with --workers: chat messages per bot between pings")
    parser.add_argument("--rounds", type=int, default=2, help="with --workers: runs of each count, alternating")
    parsed = parser.parse_args()
    raise_fd_limit()
    url, _server = database_url()  # the handle keeps a private server alive while needed
    if parsed.workers:
        from _chatter_workers import workers_main

        parsed.bots, parsed.messages = parsed.bots or 100, parsed.messages or 500
        asyncio.run(workers_main(parsed, url, [int(n) for n in parsed.workers.split(",")]))
    else:
        parsed.bots, parsed.messages = parsed.bots or 300, parsed.messages or 5000
        asyncio.run(main(parsed, url))
