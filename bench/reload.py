"""Live reload speed and start-up times, measured against the real daemon and the emulator.

Prints, for N running instances: median and 95th percentile time from a config.toml write to the new prefix
answering, the worst `!ping` round trip of an unrelated bot pinged all along the edits (beside its median before
them), and the gateway reconnects the edits caused (IDENTIFY + RESUME; must be 0). Then cold start (fresh
schemas, every migration) and warm start times until all are ready, for each size of --start. Usage:

    python bench/reload.py [--instances 1000] [--edits 50] [--start 200,600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from _harness import (
    Bot,
    LoopLag,
    database_url,
    drop_schemas,
    freeze_heap,
    make_bots,
    ping_ms,
    raise_fd_limit,
    start_daemon,
)

from supervisor.emulator import Emulator


def write_prefix(root: Path, bot: Bot, prefix: str) -> None:
    """The instance's config.toml with only its prefix changed, saved as an editor does (a new file renamed over)."""
    path = root / bot.name / "config.toml"
    temporary = path.with_name(".config.toml.tmp")
    temporary.write_text(re.sub(r'^command_prefix = ".*"$', f'command_prefix = "{prefix}"', path.read_text(),
                                flags=re.MULTILINE))
    os.replace(temporary, path)


async def drain(emu: Emulator, bot: Bot) -> None:
    """Swallow the late answers to the probes sent while the edit was on its way (the bystander's are its own)."""
    while True:
        try:
            await emu.wait_for_bot_message(channel=bot.channel, bot=bot.user, timeout=0.05)
        except TimeoutError:
            return


async def time_prefix_edit(emu: Emulator, root: Path, bot: Bot, prefix: str) -> float:
    started = time.perf_counter()
    write_prefix(root, bot, prefix)
    while True:
        await emu.send_message(bot.channel, bot.speaker, f"{prefix}ping")
        try:
            await emu.wait_for_bot_message(channel=bot.channel, bot=bot.user, timeout=0.02)
        except TimeoutError:
            continue
        elapsed = time.perf_counter() - started
        bot.prefix = prefix
        await drain(emu, bot)
        return elapsed * 1000


async def keep_pinging(emu: Emulator, bot: Bot, times: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        times.append(await ping_ms(emu, bot, timeout=30))
        await asyncio.sleep(0.02)


async def reload_latency(db: str, instances: int, edits: int, run_id: str) -> None:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-reload-"))
    root = work / "instances"
    try:
        bots = make_bots(emu, root, instances, db, run_id, members=10)
        daemon, _ = await start_daemon(emu, root, work)
        edited, bystander = bots[:-1], bots[-1]
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready")  # after its start-up collection
        freeze_heap()
        quiet = [await ping_ms(emu, bystander) for _ in range(20)]
        sessions_before = sum(emu.identify_count(b.token) + emu.resume_count(b.token) for b in bots)
        logs_before = len(daemon.logs)
        stop, bystander_times = asyncio.Event(), []
        pinger = asyncio.create_task(keep_pinging(emu, bystander, bystander_times, stop))
        times = []
        with LoopLag() as harness_lag:
            for index in range(edits):
                bot = edited[(index * 7919) % len(edited)]  # spread over the fleet
                times.append(await time_prefix_edit(emu, root, bot, "$" if bot.prefix == "!" else "!"))
            stop.set()
            await pinger
        sessions_after = sum(emu.identify_count(b.token) + emu.resume_count(b.token) for b in bots)
        stalls = [e for e in daemon.logs[logs_before:] if e.get("event") == "event_loop_stalled"]
        await daemon.stop()
    finally:
        await emu.stop()
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"live prefix edit, {instances} running instances, {edits} edits:")
    print(f"  write -> new prefix answers: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, "
          f"max {times[-1]:.0f} ms")
    print(f"  unrelated bot's !ping during the edits: worst {max(bystander_times):.0f} ms, median "
          f"{statistics.median(bystander_times):.0f} ms over {len(bystander_times)} pings "
          f"(before the edits: median {statistics.median(quiet):.0f} ms, worst {max(quiet):.0f} ms)")
    print(f"  reconnects caused (IDENTIFY + RESUME): {sessions_after - sessions_before}")
    print(f"  the bench's own loop (emulator) meanwhile: worst lag {harness_lag.worst_ms:.0f} ms, longest garbage "
          f"collection {harness_lag.longest_gc_ms:.0f} ms")
    worst = max(stalls, key=lambda e: e["stalled_ms"], default=None)
    print(f"  daemon's event loop held over 250 ms during the edits: {len(stalls)} time(s)"
          + (f", worst {worst['stalled_ms']} ms in {worst.get('activity')!r} ({worst['gc_ms']} ms of it garbage "
             "collection)" if worst else ""))


async def start_times(db: str, count: int, run_id: str) -> None:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-start-"))
    root = work / "instances"
    try:
        make_bots(emu, root, count, db, run_id, members=10)
        daemon, cold = await start_daemon(emu, root, work)
        await daemon.stop()
        daemon, warm = await start_daemon(emu, root, work)
        await daemon.stop()
    finally:
        await emu.stop()
    print(f"start-up of {count} instances until all are ready:")
    print(f"  cold (fresh schemas, all migrations): {cold:.2f} s")
    print(f"  warm (schemas up to date):            {warm:.2f} s")


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    try:
        if args.instances and not args.only_start:
            await reload_latency(db, args.instances, args.edits, f"{run_id}r")
        for count in (int(n) for n in args.start.split(",") if n):
            await start_times(db, count, f"{run_id}s{count}")
    finally:
        await drop_schemas(db, f"bench_b{run_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1000, help="running instances for the edits (0: skip)")
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--start", default="200,600", help="sizes for cold and warm start (empty: skip)")
    parser.add_argument("--only-start", action="store_true", help="only the cold and warm start-up times")
    raise_fd_limit()
    url, _server = database_url()  # the handle keeps a private server alive while needed
    asyncio.run(main(parser.parse_args(), url))
