"""Where a start of N bots spends its time: wall, the daemon's CPU, the emulator's CPU, optionally a profile.

A cold start (fresh schemas), then a warm start (the same schemas again), each timed until every instance runs.
For each: the daemon's CPU seconds and the bench's (the emulator runs in this process), so a start that waits
(for PostgreSQL, a semaphore, a timer) shows as wall time well above both. With `--profile` the warm start's
daemon runs under cProfile and the top functions by cumulative and by own time are printed. With `--burst N`,
after the warm start N bots get `!ping` at once: when each reply came (first, median, last), and with `--profile`
the daemon (bench/_profile_probe.py, switched on for the burst alone) and the bench's emulator profiled during
it. With `--memory` the warm start's daemon runs under tracemalloc and where its live bytes come from is printed.
Usage:

    python bench/start_profile.py [--bots 300] [--members 100] [--profile] [--top 40] [--burst 300] [--memory]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import secrets
import signal
import tempfile
import time
from pathlib import Path

from _harness import (
    Bot,
    DaemonProcess,
    LoopLag,
    cpu_seconds,
    database_url,
    drop_schemas,
    freeze_heap,
    make_bots,
    ping_reply,
    raise_fd_limit,
    rss_mb,
    start_daemon,
)

from supervisor.emulator import Emulator

PROBE = Path(__file__).with_name("_profile_probe.py")


async def timed_start(emu: Emulator, work: Path, label: str, profile: Path | None,
                      program: tuple[str, ...] = ("-m", "supervisor"), env: dict[str, str] | None = None,
                      ) -> DaemonProcess:
    if profile is not None:
        program = ("-m", "cProfile", "-o", str(profile), "-m", "supervisor")
    bench0 = cpu_seconds(os.getpid())
    with LoopLag() as lag:
        daemon, seconds = await start_daemon(emu, work / "instances", work, program=program, env=env)
    daemon_cpu = cpu_seconds(daemon.pid)
    bench_cpu = cpu_seconds(os.getpid()) - bench0
    print(f"{label}: {seconds:.1f} s wall; daemon CPU {daemon_cpu:.1f} s, bench (emulator) CPU {bench_cpu:.1f} s,"
          f" bench loop worst lag {lag.worst_ms:.0f} ms; daemon RSS {rss_mb(daemon.pid):.0f} MB", flush=True)
    return daemon


def show(profile: Path, top: int) -> None:
    stats = pstats.Stats(str(profile))
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


async def burst(emu: Emulator, daemon: DaemonProcess, bots: list[Bot], work: Path, args: argparse.Namespace) -> None:
    freeze_heap()  # the emulator's sessions: out of this process's collections
    await asyncio.sleep(5.0)
    bench_profile = cProfile.Profile()
    if args.profile:
        os.kill(daemon.pid, signal.SIGUSR1)
        await asyncio.sleep(0.5)
        bench_profile.enable()
    started = time.perf_counter()
    replies: list[float] = []
    at_emulator: list[float] = []

    async def one(bot: Bot) -> None:
        at_emulator.append((await ping_reply(emu, bot, timeout=300))[1])
        replies.append((time.perf_counter() - started) * 1000)

    with LoopLag() as lag:
        await asyncio.gather(*(one(bot) for bot in bots))
    bench_profile.disable()
    for label, times in (("seen by the bench's tasks (ms after the sends)", replies),
                         ("by the emulator's message timestamps (ms)", at_emulator)):
        times.sort()
        deciles = ", ".join(f"{times[min(len(times) - 1, len(times) * q // 10)]:.0f}" for q in range(11))
        print(f"burst of {len(bots)}, replies {label}, deciles 0..100 %: {deciles}", flush=True)
    print(f"bench loop worst lag {lag.worst_ms:.0f} ms, its longest collection {lag.longest_gc_ms:.0f} ms")
    if args.profile:
        os.kill(daemon.pid, signal.SIGUSR2)
        await asyncio.sleep(3.0)
        print("== the daemon during the burst")
        show(work / "burst.prof", args.top)
        print("== the bench (emulator) during the burst")
        bench_profile.dump_stats(str(work / "bench.prof"))
        show(work / "bench.prof", args.top)


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-start-"))
    try:
        bots = make_bots(emu, work / "instances", args.bots, db, run_id, members=args.members)
        freeze_heap()
        daemon = await timed_start(emu, work, f"cold start of {args.bots}", None)
        await daemon.stop(timeout=600)
        if args.memory:
            daemon = await timed_start(emu, work, f"warm start of {args.bots} (tracemalloc)", None,
                                       program=(str(PROBE),), env={"TRACEMALLOC_OUT": str(work / "memory.txt")})
            await asyncio.sleep(5.0)
            os.kill(daemon.pid, signal.SIGUSR2)
            for _ in range(1200):
                await asyncio.sleep(0.5)
                if (work / "memory.txt").exists():
                    break
            await asyncio.sleep(1.0)
            print((work / "memory.txt").read_text())
        elif args.burst:
            daemon = await timed_start(emu, work, f"warm start of {args.bots}", None, program=(str(PROBE),),
                                       env={"PROFILE_PROBE_OUT": str(work / "burst.prof")})
            await burst(emu, daemon, bots[:args.burst], work, args)
        else:
            profile = work / "warm.prof" if args.profile else None
            daemon = await timed_start(emu, work, f"warm start of {args.bots}", profile)
        started = time.perf_counter()
        await daemon.stop(timeout=600)
        print(f"stop: {time.perf_counter() - started:.1f} s", flush=True)
        daemon.save_log(work / "daemon.log")
        if args.profile and not args.burst:
            show(work / "warm.prof", args.top)
        print(f"work folder: {work}")
    finally:
        try:
            await emu.stop()
        finally:
            await drop_schemas(db, f"bench_b{run_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=300)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="the warm start's daemon under cProfile")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--memory", action="store_true", help="the warm start's daemon under tracemalloc")
    parser.add_argument("--burst", type=int, default=0, help="after the warm start, this many !ping at once")
    raise_fd_limit()
    url, _server = database_url()
    asyncio.run(main(parser.parse_args(), url))
