"""Memory and speed of many bots in one supervised process, beside bare discord.py bots, in one run.

For N = 1, 50, 200 instances (each: one guild of 100 members, the core feature, its own schema and pool) under
one daemon: RSS, the marginal MB per extra bot and the average MB per bot, and the median `!ping` round trip
beside the same N bare discord.py bots (a `commands.Bot` answering `!ping`, nothing else) in one process on the
same emulator. Then the same bots as one daemon process each for a smaller N, and both "leaner" ratios: per bot
one process each / marginal MB per hosted bot, and / average MB per hosted bot. Usage:

    python bench/bots_per_process.py [--sizes 1,50,200] [--separate 10] [--pings 40]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

from _harness import (
    Bot,
    database_url,
    drop_schemas,
    make_bots,
    ping_ms,
    raise_fd_limit,
    rss_mb,
    settle,
    start_daemon,
)

from supervisor.emulator import Emulator

BARE_BOTS = Path(__file__).with_name("_bare_bots.py")


async def ping_median(emu: Emulator, bots: list[Bot], rounds: int) -> float:
    return statistics.median([await ping_ms(emu, bots[index % len(bots)]) for index in range(rounds)])


async def supervised(n: int, db: str, run_id: str, pings: int) -> dict[str, float]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-sup-"))
    try:
        bots = make_bots(emu, work / "instances", n, db, run_id)
        daemon, ready = await start_daemon(emu, work / "instances", work)
        await settle(2.0)
        rss = rss_mb(daemon.pid)
        ping = await ping_median(emu, bots, pings)
        await daemon.stop()
        return {"n": n, "rss": rss, "ready": ready, "ping": ping}
    finally:
        await emu.stop()


async def bare(n: int, db: str, run_id: str, pings: int) -> dict[str, float]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    try:
        bots = make_bots(emu, work / "instances", n, db, run_id)
        tokens = work / "tokens"
        tokens.write_text("\n".join(bot.token for bot in bots))
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(BARE_BOTS), emu.api_base, emu.gateway_url, str(tokens),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 600)
        await settle(2.0)
        rss = rss_mb(process.pid)
        ping = await ping_median(emu, bots, pings)
        process.terminate()
        await process.wait()
        return {"n": n, "rss": rss, "ping": ping}
    finally:
        await emu.stop()


async def one_process_each(n: int, db: str, run_id: str) -> dict[str, float]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-sep-"))
    try:
        bots = make_bots(emu, work / "all", n, db, run_id)
        starts = []
        for bot in bots:
            root = work / bot.name
            root.mkdir()
            (work / "all" / bot.name).rename(root / bot.name)
            starts.append(start_daemon(emu, root, root))
        results = await asyncio.gather(*starts)
        await settle(2.0)
        rss = sum(rss_mb(daemon.pid) for daemon, _ in results)
        await asyncio.gather(*(daemon.stop() for daemon, _ in results))
        return {"n": n, "rss": rss}
    finally:
        await emu.stop()


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    sizes = [int(n) for n in args.sizes.split(",")]
    try:
        rows = []
        for n in sizes:
            row = await supervised(n, db, f"{run_id}s{n}", args.pings)
            row["bare_ping"] = (await bare(n, db, f"{run_id}b{n}", args.pings))["ping"]
            rows.append(row)
        separate = await one_process_each(args.separate, db, f"{run_id}p")
    finally:
        await drop_schemas(db, f"bench_b{run_id}")
    base = rows[0]
    print("one supervised process (core feature only), beside bare discord.py bots in one process:")
    print(f"{'bots':>5} {'RSS MB':>8} {'MB/extra bot':>13} {'MB/bot avg':>11} {'ready s':>8} "
          f"{'ping ms':>8} {'bare ms':>8} {'ratio':>6}")
    for row in rows:
        extra = (f"{(row['rss'] - base['rss']) / (row['n'] - base['n']):.2f}" if row["n"] > base["n"] else "-")
        print(f"{row['n']:>5} {row['rss']:>8.1f} {extra:>13} {row['rss'] / row['n']:>11.2f} {row['ready']:>8.2f} "
              f"{row['ping']:>8.1f} {row['bare_ping']:>8.1f} {row['ping'] / row['bare_ping']:>5.2f}x")
    per_separate = separate["rss"] / separate["n"]
    largest = rows[-1]
    marginal = (largest["rss"] - base["rss"]) / max(largest["n"] - base["n"], 1)
    average = largest["rss"] / largest["n"]
    print(f"\none daemon process per bot: {separate['n']} processes, {separate['rss']:.1f} MB in all = "
          f"{per_separate:.1f} MB per bot")
    print(f"leaner per bot at N={largest['n']}: {per_separate / marginal:.0f}x on the marginal cost "
          f"({marginal:.2f} MB per extra bot), {per_separate / average:.0f}x on the average "
          f"({average:.2f} MB per bot, the whole process divided by its bots)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,50,200")
    parser.add_argument("--separate", type=int, default=10)
    parser.add_argument("--pings", type=int, default=40)
    raise_fd_limit()
    url, _server = database_url()  # the handle keeps a private server alive while needed
    asyncio.run(main(parser.parse_args(), url))
