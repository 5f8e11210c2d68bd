"""Thousands of bots in one daemon, side by side per size: memory, threads, start-up, idle CPU, `!ping`, stalls.

For each N of `--sizes` (each bot: one guild of `--members` members, the core feature, its own schema): a cold
start (fresh schemas) and a warm start (the same schemas again), each timed until every instance runs; RSS and
MB per bot, threads, file descriptors; CPU over `--idle` seconds of an idle fleet (the event loop's thread and
the others, discord.py's heartbeat threads among them, apart); `!ping` round trips one after another and
`--burst` of them at once; the event-loop stalls the daemon's watchdog logged over 50 ms after every bot ran,
with how much of them was garbage collection. Then one bare discord.py bot in its own process, for the ratios:
"flattering" divides its RSS by our marginal MB per bot, "plain" by our whole RSS divided by N.

The emulator runs in this bench's process, the daemon in its own: the bench's RSS and CPU are printed as what the
emulator costs. Each start also prints the CPU the daemon and the bench used until every instance ran (on a
shared machine the wall time follows the load; the daemon's CPU per bot says whether a cost grows faster than N).
At the end the bench's schemas are dropped and the catalogs their DDL bloated vacuumed (`_harness.drop_schemas`).
Usage:

    python bench/tenk.py [--sizes 1000,3000,10000] [--members 100] [--idle 180] [--pings 50] [--burst 1000]
                         [--run-id ID --keep-schemas] [--run-id ID --warm-only]

A cold start of 10,000 takes a long while: `--run-id ID --keep-schemas` keeps that run's schemas, and a later
`--run-id ID --warm-only` starts on them without a cold start (its table shows "-" there).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import (
    Bot,
    DaemonProcess,
    LoopLag,
    cpu_seconds,
    database_url,
    drop_schemas,
    freeze_heap,
    make_bots,
    ping_ms,
    ping_reply,
    raise_fd_limit,
    rss_mb,
    start_daemon,
)

from supervisor.emulator import Emulator

BARE_BOTS = Path(__file__).with_name("_bare_bots.py")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STALL_MS = 50


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the main thread (the event loop) and of all other threads together."""
    main = others = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if int(tid) == pid:
            main += seconds
        else:
            others += seconds
    return main, others


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def burst(emu: Emulator, bots: list[Bot], count: int) -> tuple[list[float], list[float], int]:
    """Round trips as the bench's tasks saw them and by the emulator's message timestamps (see ping_reply)."""
    chosen = bots[:count]
    outcomes = await asyncio.gather(*(ping_reply(emu, bot, timeout=300) for bot in chosen), return_exceptions=True)
    answered = [t for t in outcomes if isinstance(t, tuple)]
    return [t[0] for t in answered], [t[1] for t in answered], len(chosen) - len(answered)


def stalls_since(daemon: DaemonProcess, start: int) -> dict[str, float]:
    found = [e for e in daemon.logs[start:] if e.get("event") == "event_loop_stalled"]
    stalled = sum(e.get("stalled_ms", 0) for e in found)
    collecting = sum(e.get("gc_ms", 0) for e in found)
    worst = sorted(found, key=lambda e: -e.get("stalled_ms", 0))[:3]
    return {"stalls": len(found), "worst": max((e.get("stalled_ms", 0) for e in found), default=0),
            "gc_share": collecting / stalled if stalled else 0.0,
            "worst_three": [(e.get("stalled_ms"), e.get("gc_ms"), e.get("activity")) for e in worst]}


async def start_timed(emu: Emulator, work: Path, label: str, fleet_schema: str, row: dict[str, Any]) -> DaemonProcess:
    """Start the daemon; note the seconds until every instance runs, and the CPU the daemon and this process (the
    emulator) used meanwhile: on a shared machine the wall time follows the load, the CPU per bot much less."""
    bench0 = cpu_seconds(os.getpid())
    # Fleet tables of its own: another daemon on this database (a test run) does not make it re-read them.
    daemon, seconds = await start_daemon(emu, work / "instances", work, "--stall-threshold-ms", str(STALL_MS),
                                         "--fleet-schema", fleet_schema)
    row[label], row[f"{label}_cpu"] = seconds, cpu_seconds(daemon.pid)
    row[f"{label}_bench_cpu"] = cpu_seconds(os.getpid()) - bench0
    print(f"  {label} start: every instance running after {seconds:.1f} s (daemon CPU {row[f'{label}_cpu']:.1f} s,"
          f" bench CPU {row[f'{label}_bench_cpu']:.1f} s)", flush=True)
    return daemon


async def size(n: int, args: argparse.Namespace, db: str, run_id: str) -> dict[str, Any]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-tenk-"))
    row: dict[str, Any] = {"n": n}
    try:
        made = time.perf_counter()
        bots = make_bots(emu, work / "instances", n, db, run_id, members=args.members)
        freeze_heap()
        print(f"N={n}: emulator world built in {time.perf_counter() - made:.1f} s", flush=True)
        with LoopLag() as lag:
            fleet_schema = f"bench_b{run_id}fleet"  # dropped with the bots' schemas
            if args.run_id is None or not args.warm_only:
                daemon = await start_timed(emu, work, "cold", fleet_schema, row)
                await daemon.stop(timeout=600)
            else:
                row["cold"] = row["cold_cpu"] = row["cold_bench_cpu"] = None  # an earlier run's --keep-schemas
            daemon = await start_timed(emu, work, "warm", fleet_schema, row)
            freeze_heap()  # the emulator's sessions of both starts: out of this process's collections too
            try:
                after_start = len(daemon.logs)
                await asyncio.sleep(5.0)
                pid = daemon.pid
                row.update(rss=rss_mb(pid), threads=threads(pid), fds=fds(pid))
                cpu0, (main0, others0), t0 = cpu_seconds(pid), thread_cpu(pid), time.monotonic()
                await asyncio.sleep(args.idle)
                elapsed = time.monotonic() - t0
                main1, others1 = thread_cpu(pid)
                row["idle_cpu"] = (cpu_seconds(pid) - cpu0) / elapsed * 100
                row["idle_loop"] = (main1 - main0) / elapsed * 100
                row["idle_threads"] = (others1 - others0) / elapsed * 100
                sequential = [await ping_ms(emu, bots[i * 7919 % n], timeout=60) for i in range(args.pings)]
                row["ping_p50"], row["ping_p95"] = statistics.median(sequential), percentile(sequential, 0.95)
                together, at_emulator, missed = await burst(emu, bots, min(args.burst, n))
                row["burst_p50"], row["burst_p95"] = statistics.median(together), percentile(together, 0.95)
                row["burst_emu_p50"] = statistics.median(at_emulator)
                row["burst_emu_p95"] = percentile(at_emulator, 0.95)
                row["burst_missed"] = missed
                await asyncio.sleep(3.0)
                row["rss_after"] = rss_mb(pid)
                row.update(stalls_since(daemon, after_start))
                row["emu_rss"] = rss_mb(os.getpid())
                row["emu_lag"] = lag.worst_ms
            finally:
                await daemon.stop(timeout=600)
                row["log_problems"] = daemon.save_log(work / "daemon.log")
        print(f"  N={n}: {row}", flush=True)
        return row
    finally:
        await emu.stop()


async def bare_one(db: str, run_id: str, pings: int) -> dict[str, float]:
    """One bare discord.py bot in its own process: what a user would run instead of us."""
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    try:
        bots = make_bots(emu, work / "instances", 1, db, run_id)
        tokens = work / "tokens"
        tokens.write_text(bots[0].token)
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(BARE_BOTS), emu.api_base, emu.gateway_url, str(tokens),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 120)
        await asyncio.sleep(2.0)
        rss = rss_mb(process.pid)
        ping = statistics.median([await ping_ms(emu, bots[0]) for _ in range(pings)])
        process.terminate()
        await process.wait()
        return {"rss": rss, "ping": ping}
    finally:
        await emu.stop()


def table(rows: list[dict[str, Any]], bare: dict[str, float]) -> None:
    lines = [
        ("RSS MB (after the pings)", lambda r: f"{r['rss']:.0f} ({r['rss_after']:.0f})"),
        ("MB per bot (average)", lambda r: f"{r['rss'] / r['n']:.3f}"),
        ("threads", lambda r: f"{r['threads']}"),
        ("file descriptors", lambda r: f"{r['fds']}"),
        ("cold start s", lambda r: "-" if r["cold"] is None else f"{r['cold']:.1f}"),
        ("  daemon / bench CPU s", lambda r: "-" if r["cold"] is None
         else f"{r['cold_cpu']:.1f} / {r['cold_bench_cpu']:.1f}"),
        ("warm start s", lambda r: f"{r['warm']:.1f}"),
        ("  daemon / bench CPU s", lambda r: f"{r['warm_cpu']:.1f} / {r['warm_bench_cpu']:.1f}"),
        ("  daemon CPU ms per bot", lambda r: f"{r['warm_cpu'] / r['n'] * 1000:.1f}"),
        ("idle CPU % of a core", lambda r: f"{r['idle_cpu']:.2f}"),
        ("  of it event loop / others", lambda r: f"{r['idle_loop']:.2f} / {r['idle_threads']:.2f}"),
        ("!ping ms p50 / p95", lambda r: f"{r['ping_p50']:.0f} / {r['ping_p95']:.0f}"),
        ("burst !ping ms p50 / p95", lambda r: f"{r['burst_p50']:.0f} / {r['burst_p95']:.0f}"
                                               + (f" ({r['burst_missed']} missed)" if r["burst_missed"] else "")),
        ("  by the emulator's timestamps", lambda r: f"{r['burst_emu_p50']:.0f} / {r['burst_emu_p95']:.0f}"),
        (f"stalls > {STALL_MS} ms, worst ms", lambda r: f"{r['stalls']}, {r['worst']}"),
        ("  share of it in GC", lambda r: f"{r['gc_share'] * 100:.0f} %"),
        ("bench (emulator) RSS MB", lambda r: f"{r['emu_rss']:.0f}"),
        ("bench loop worst lag ms", lambda r: f"{r['emu_lag']:.0f}"),
    ]
    print(f"\n{'':>30} " + " ".join(f"{'N=' + str(r['n']):>16}" for r in rows))
    for label, cell in lines:
        print(f"{label:>30} " + " ".join(f"{cell(r):>16}" for r in rows))
    print(f"\none bare discord.py bot in its own process: {bare['rss']:.1f} MB, !ping p50 {bare['ping']:.1f} ms")
    base = rows[0]
    for row in rows:
        average = row["rss"] / row["n"]
        marginal = ((row["rss"] - base["rss"]) / (row["n"] - base["n"]) if row is not base else None)
        flattering = f"{bare['rss'] / marginal:.0f}x (marginal {marginal:.3f} MB)" if marginal else "-"
        print(f"N={row['n']}: plain {bare['rss'] / average:.0f}x leaner ({average:.3f} MB per bot, the whole "
              f"process / N); flattering {flattering}")


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = args.run_id or secrets.token_hex(2)
    rows = []
    try:
        for n in (int(n) for n in args.sizes.split(",")):
            rows.append(await size(n, args, db, f"{run_id}n{n}"))
        bare = await bare_one(db, f"{run_id}x", min(args.pings, 20))
    finally:
        if not args.keep_schemas:
            await drop_schemas(db, f"bench_b{run_id}")
    table(rows, bare)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--idle", type=float, default=180.0, help="seconds of idle CPU measured (default 3 min)")
    parser.add_argument("--pings", type=int, default=50)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--run-id", help="name the schemas bench_b<ID>...: with --keep-schemas, a later run with the "
                        "same ID starts on them")
    parser.add_argument("--keep-schemas", action="store_true", help="leave the schemas (drop them by hand later)")
    parser.add_argument("--warm-only", action="store_true", help="with --run-id of kept schemas: no cold start")
    raise_fd_limit()
    url, _server = database_url()
    asyncio.run(main(parser.parse_args(), url))
