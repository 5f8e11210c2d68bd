"""What one gateway heartbeat costs the daemon: its CPU at idle with a short heartbeat interval, per heartbeat.

At idle the daemon's work is mostly keeping N gateway connections alive: each bot sends a heartbeat every 41.25 s
and reads the ACK (242 a second at 10,000 bots). This bench has its emulator ask for one every `--interval-ms`
(1 s by default), so that heartbeats are most of what the daemon does, and divides the daemon's CPU over
`--window` seconds by the heartbeats the emulator answered meanwhile. Usage:

    python bench/heartbeat_cost.py [--bots 500] [--interval-ms 1000] [--window 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

from _harness import cpu_seconds, database_url, drop_schemas, make_bots, start_daemon

from supervisor.emulator import Emulator


def heartbeats(emu: Emulator) -> int:
    return sum(stats.heartbeats for stats in emu.gateway.stats.values())


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = f"hc{os.getpid()}"
    emu = Emulator(heartbeat_interval_ms=args.interval_ms)
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-heartbeat-"))
    try:
        make_bots(emu, work / "instances", args.bots, db, run_id)
        daemon, seconds = await start_daemon(emu, work / "instances", work)
        try:
            print(f"{args.bots} bots running after {seconds:.1f} s; measuring for {args.window:.0f} s", flush=True)
            await asyncio.sleep(5.0)  # the start's stragglers
            beats0, cpu0, started = heartbeats(emu), cpu_seconds(daemon.pid), time.monotonic()
            await asyncio.sleep(args.window)
            beats = heartbeats(emu) - beats0
            cpu = cpu_seconds(daemon.pid) - cpu0
            elapsed = time.monotonic() - started
        finally:
            await daemon.stop(timeout=120)
        print(f"{args.bots} bots, a heartbeat every {args.interval_ms} ms: {beats / elapsed:.0f} heartbeats/s, "
              f"daemon CPU {cpu / elapsed * 100:.1f} % of a core, {cpu / max(beats, 1) * 1e6:.0f} us per heartbeat "
              f"(with the ACK); at 41.25 s and 10,000 bots that is {cpu / max(beats, 1) * 242 * 100:.1f} % of a core")
    finally:
        await emu.stop()
        await drop_schemas(db, f"bench_b{run_id}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=int, default=500)
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument("--window", type=float, default=30.0)
    arguments = parser.parse_args()
    url, _server = database_url()  # the handle keeps a private server running
    asyncio.run(main(arguments, url))
