"""Where a start of N bots spends its time: wall, the daemon's CPU, the emulator's CPU, optionally a profile.

A cold start (fresh schemas), then a warm start (the same schemas again), each timed until every instance runs.
For each: the daemon's CPU seconds and the bench's (the emulator runs in this process), so a start that waits
(for PostgreSQL, a semaphore, a timer) shows as wall time well above both. With `--profile` the warm start's
daemon runs under cProfile and the top functions by cumulative and by own time are printed. Usage:

    python bench/start_profile.py [--bots 300] [--members 100] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import secrets
import tempfile
import time
from pathlib import Path

from _harness import (
    DaemonProcess,
    LoopLag,
    cpu_seconds,
    database_url,
    drop_schemas,
    freeze_heap,
    make_bots,
    raise_fd_limit,
    rss_mb,
    start_daemon,
)

from supervisor.emulator import Emulator


async def timed_start(emu: Emulator, work: Path, label: str, profile: Path | None) -> DaemonProcess:
    program: tuple[str, ...] = ("-m", "supervisor")
    if profile is not None:
        program = ("-m", "cProfile", "-o", str(profile), "-m", "supervisor")
    bench0 = cpu_seconds(os.getpid())
    with LoopLag() as lag:
        daemon, seconds = await start_daemon(emu, work / "instances", work, program=program)
    daemon_cpu = cpu_seconds(daemon.pid)
    bench_cpu = cpu_seconds(os.getpid()) - bench0
    print(f"{label}: {seconds:.1f} s wall; daemon CPU {daemon_cpu:.1f} s, bench (emulator) CPU {bench_cpu:.1f} s,"
          f" bench loop worst lag {lag.worst_ms:.0f} ms; daemon RSS {rss_mb(daemon.pid):.0f} MB", flush=True)
    return daemon


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-start-"))
    try:
        make_bots(emu, work / "instances", args.bots, db, run_id, members=args.members)
        freeze_heap()
        daemon = await timed_start(emu, work, f"cold start of {args.bots}", None)
        await daemon.stop(timeout=600)
        profile = work / "warm.prof" if args.profile else None
        daemon = await timed_start(emu, work, f"warm start of {args.bots}", profile)
        started = time.perf_counter()
        await daemon.stop(timeout=600)
        print(f"stop: {time.perf_counter() - started:.1f} s", flush=True)
        daemon.save_log(work / "daemon.log")
        if profile is not None:
            stats = pstats.Stats(str(profile))
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
        print(f"work folder: {work}")
    finally:
        await emu.stop()
        await drop_schemas(db, f"bench_b{run_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=300)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="the warm start's daemon under cProfile")
    parser.add_argument("--top", type=int, default=40)
    raise_fd_limit()
    url, _server = database_url()
    asyncio.run(main(parser.parse_args(), url))
