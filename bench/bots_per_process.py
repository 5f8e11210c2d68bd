"""Memory and speed of many bots in one supervised process, beside one process per bot, in one run.

For N = 1, 50, 200 instances (each: one guild of 100 members, the core feature, its own schema and pool) under
one daemon, and beside it the same bots as one daemon process each for a smaller N: RSS per bot for both and
their ratio, time until all are ready, and the median `ping` round trip. Usage:

    .venv/bin/python bench/bots_per_process.py [--sizes 1,50,200] [--separate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
from pathlib import Path

from _harness import (
    database_url,
    drop_schemas,
    make_bots,
    ping_median_ms,
    raise_fd_limit,
    rss_mb,
    settle,
    start_daemon,
)

from supervisor.emulator import Emulator


async def supervised(n: int, db: str, run_id: str) -> dict[str, float]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-sup-"))
    try:
        bots = make_bots(emu, work / "instances", n, db, run_id)
        daemon, ready = await start_daemon(emu, work / "instances", work)
        await settle()
        assert daemon.process is not None
        rss = rss_mb(daemon.process.pid)
        ping = await ping_median_ms(emu, bots)
        await daemon.stop()
        return {"n": n, "rss": rss, "ready": ready, "ping": ping}
    finally:
        await emu.stop()


async def one_process_each(n: int, db: str, run_id: str) -> dict[str, float]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-sep-"))
    daemons = []
    try:
        bots = make_bots(emu, work / "all", n, db, run_id)
        started = asyncio.get_running_loop().time()
        for bot in bots:
            root = work / bot.name
            root.mkdir()
            (work / "all" / bot.name).rename(root / bot.name)
            daemons.append(start_daemon(emu, root, root))
        results = await asyncio.gather(*daemons)
        ready = asyncio.get_running_loop().time() - started
        await settle()
        rss = sum(rss_mb(d.process.pid) for d, _ in results if d.process)
        ping = await ping_median_ms(emu, bots)
        await asyncio.gather(*(d.stop() for d, _ in results))
        return {"n": n, "rss": rss, "ready": ready, "ping": ping}
    finally:
        await emu.stop()


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    try:
        rows = [await supervised(int(n), db, f"{run_id}s{n}") for n in args.sizes.split(",")]
        separate = await one_process_each(args.separate, db, f"{run_id}p")
    finally:
        await drop_schemas(db, f"bench_b{run_id}")
    base = rows[0]
    print("one supervised process:")
    print(f"{'bots':>6} {'RSS MB':>8} {'MB/extra bot':>13} {'ready s':>8} {'ping ms':>8}")
    for row in rows:
        extra = (row["rss"] - base["rss"]) / (row["n"] - base["n"]) if row["n"] > base["n"] else float("nan")
        print(f"{row['n']:>6} {row['rss']:>8.1f} {extra:>13.2f} {row['ready']:>8.2f} {row['ping']:>8.1f}")
    per_separate = separate["rss"] / separate["n"]
    largest = rows[-1]
    per_hosted = (largest["rss"] - base["rss"]) / max(largest["n"] - base["n"], 1)
    print(f"\none process per bot: {separate['n']} processes, {separate['rss']:.1f} MB in all = "
          f"{per_separate:.1f} MB per bot; ready in {separate['ready']:.2f} s; ping {separate['ping']:.1f} ms")
    print(f"ratio (MB per bot, one process each / MB per extra hosted bot at N={largest['n']}): "
          f"{per_separate / per_hosted:.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,50,200")
    parser.add_argument("--separate", type=int, default=10)
    raise_fd_limit()
    url, server = database_url()
    asyncio.run(main(parser.parse_args(), url))
