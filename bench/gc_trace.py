"""What the garbage collector does in a daemon with N bots, and which objects make its cyclic garbage.

The daemon runs under bench/_gc_probe.py. After every bot runs: the collections of a quiet window, then of a
burst (every bot gets `!ping` at once, `--bursts` times). With `--saveall` the unreachable objects are kept
(gc.DEBUG_SAVEALL) and counted by type, or for frames, functions and coroutines by their code: what to remove
from the hot path. Usage:

    python bench/gc_trace.py [--bots 300] [--bursts 3] [--quiet 10] [--saveall] [--config-extra ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import LoopLag, database_url, drop_schemas, freeze_heap, make_bots, ping_ms, raise_fd_limit, start_daemon

from supervisor.emulator import Emulator

PROBE = Path(__file__).with_name("_gc_probe.py")


async def snapshot(pid: int, out: Path, signum: int = signal.SIGUSR1) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    os.kill(pid, signum)
    for _ in range(600):
        if out.exists():
            try:
                return json.loads(out.read_text())
            except json.JSONDecodeError:
                pass
        await asyncio.sleep(0.05)
    raise TimeoutError("the probe wrote nothing")


def summary(label: str, report: dict[str, Any], top: int) -> None:
    by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
    collected = {0: 0, 1: 0, 2: 0}
    for c in report["collections"]:
        by_gen[c["gen"]].append(c["ms"])
        collected[c["gen"]] += c["collected"]
    cells = []
    for gen, times in by_gen.items():
        if times:
            cells.append(f"gen{gen}: {len(times)} x, median {statistics.median(times):.1f} ms, worst "
                         f"{max(times):.1f} ms, {collected[gen]} unreachable")
    print(f"{label}: " + ("; ".join(cells) or "no collections"))
    longest = sorted(report["collections"], key=lambda c: -c["ms"])[:5]
    if longest:
        print("  longest (generation: ms): " + ", ".join(f"{c['gen']}: {c['ms']:.0f}" for c in longest))
    full = [c for c in report["collections"] if c["gen"] == 2]
    if full:
        print("  full collections (ms): " + ", ".join(f"{c['ms']:.0f}" for c in full))
    print(f"  frozen {report['frozen']}, counts now {report['counts']}, thresholds {report['threshold']}")
    if report["garbage"]:
        print(f"  cyclic garbage kept: {report['garbage']} objects; by type:")
        for name, count in report["types"][:top]:
            print(f"    {count:>8}  {name}")


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-gc-"))
    out = work / "gc.json"
    env = {"GC_PROBE_OUT": str(out), **({"GC_PROBE_SAVEALL": "1"} if args.saveall else {})}
    try:
        bots = make_bots(emu, work / "instances", args.bots, db, run_id, config_extra=args.config_extra)
        freeze_heap()
        with LoopLag() as lag:
            daemon, ready = await start_daemon(emu, work / "instances", work, program=(str(PROBE),), env=env)
            print(f"{args.bots} bots running after {ready:.1f} s", flush=True)
            summary("start-up", await snapshot(daemon.pid, out), args.top)
            await daemon.wait_log(lambda e: e.get("event") in ("daemon_ready",), timeout=120)
            await asyncio.sleep(args.quiet)
            summary(f"quiet {args.quiet:.0f} s", await snapshot(daemon.pid, out), args.top)
            for burst in range(args.bursts):
                started = time.perf_counter()
                outcomes = await asyncio.gather(*(ping_ms(emu, bot, timeout=120) for bot in bots),
                                                return_exceptions=True)
                wall = time.perf_counter() - started
                times = sorted(t for t in outcomes if isinstance(t, float))
                if len(times) < len(bots):
                    print(f"  {len(bots) - len(times)} pings unanswered")
                print(f"burst {burst + 1}: {len(bots)} pings in {wall:.1f} s, p50 {times[len(times) // 2]:.0f} ms, "
                      f"p95 {times[int(len(times) * 0.95)]:.0f} ms", flush=True)
                await asyncio.sleep(2.0)
                summary(f"burst {burst + 1}", await snapshot(daemon.pid, out), args.top)
            await asyncio.sleep(args.quiet)
            summary(f"quiet {args.quiet:.0f} s", await snapshot(daemon.pid, out), args.top)
            thawed = await snapshot(daemon.pid, out, signal.SIGUSR2)
            print(f"full collection of the thawed heap: {thawed['thaw_ms']:.0f} ms; garbage the freezes kept:")
            summary("  thawed", thawed, args.top)
            for entry in daemon.logs:
                if entry.get("event") == "heap_frozen":
                    print(f"  heap frozen: reason {entry.get('reason')}, {entry.get('objects')} objects, "
                          f"{entry.get('ms')} ms")
            stalls = [e for e in daemon.logs if e.get("event") in ("event_loop_stalled",)]
            print(f"watchdog stalls: {len(stalls)}; worst {max((e['stalled_ms'] for e in stalls), default=0)} ms "
                  f"(gc {max((e.get('gc_ms', 0) for e in stalls), default=0)} ms); bench loop worst lag "
                  f"{lag.worst_ms:.0f} ms")
            await daemon.stop()
            print(f"daemon log: {work / 'daemon.log'}; warnings and errors: {daemon.save_log(work / 'daemon.log')}")
    finally:
        await emu.stop()
        await drop_schemas(db, f"bench_b{run_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=300)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--quiet", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--saveall", action="store_true")
    parser.add_argument("--config-extra", default="")
    raise_fd_limit()
    url, _server = database_url()
    asyncio.run(main(parser.parse_args(), url))
