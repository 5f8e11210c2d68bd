"""What discord.py's heartbeat threads cost at thousands of bots, without the thousands of bots.

discord.py runs one `KeepAliveHandler` thread per gateway connection: it sleeps the heartbeat interval (41.25 s
from Discord), then hands the heartbeat to the event loop (`run_coroutine_threadsafe`) and waits for it. This
bench starts N real KeepAliveHandlers (discord.py's own class) on a stand-in websocket whose heartbeat does
nothing, their starts spread over one interval as a fleet's connections would be, then measures over `--window`
seconds: RSS, threads, CPU of the process, and how late a 10 ms timer on the event loop wakes (worst, p99) —
against the same with no handler. Usage:

    python bench/heartbeat_threads.py [--sizes 0,1000,3000,10000] [--window 60] [--interval 41.25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

from discord.gateway import KeepAliveHandler

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class StandInSocket:
    """What a KeepAliveHandler reads of discord.py's DiscordWebSocket."""

    HEARTBEAT = 1

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.sequence = 1
        self._max_heartbeat_timeout = 1e9
        self.sent = 0

    async def send_heartbeat(self, _data: dict[str, Any]) -> None:
        self.sent += 1


def process_figures() -> tuple[float, int, float]:
    status = Path("/proc/self/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
    threads = len(os.listdir("/proc/self/task"))
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return rss, threads, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def one_size(n: int, window: float, interval: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    rss0, _threads, _cpu = process_figures()
    socket = StandInSocket(loop)
    handlers = []
    started = time.monotonic()
    for index in range(n):  # spread over one interval, as connections made over a start would be
        handler = KeepAliveHandler(ws=socket, interval=interval, shard_id=index)  # type: ignore[arg-type]
        handler.start()
        handlers.append(handler)
        delay = started + interval * (index + 1) / n - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    lags: list[float] = []
    rss1, threads, cpu0 = process_figures()
    began = time.monotonic()
    while time.monotonic() - began < window:
        went = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - went - 0.01) * 1000)
    _rss, _threads, cpu1 = process_figures()
    elapsed = time.monotonic() - began
    for handler in handlers:
        handler.stop()
    lags.sort()
    return {"n": n, "rss": rss1, "rss_added": rss1 - rss0, "threads": threads,
            "cpu": (cpu1 - cpu0) / elapsed * 100, "lag_worst": lags[-1], "lag_p99": lags[int(len(lags) * 0.99)],
            "beats_per_s": socket.sent / (time.monotonic() - started)}


async def main(args: argparse.Namespace) -> None:
    rows = []
    for n in (int(n) for n in args.sizes.split(",")):
        rows.append(await one_size(n, args.window, args.interval))
        print(f"N={n}: {rows[-1]}", flush=True)
        await asyncio.sleep(1.0)
    print(f"\n{'threads':>8} {'RSS MB':>8} {'+MB':>7} {'KB/thread':>10} {'CPU %':>7} {'beats/s':>8} "
          f"{'lag p99 ms':>11} {'lag worst ms':>13}")
    for row in rows:
        per = f"{row['rss_added'] * 1024 / row['n']:.1f}" if row["n"] else "-"
        print(f"{row['threads']:>8} {row['rss']:>8.1f} {row['rss_added']:>7.1f} {per:>10} {row['cpu']:>7.2f} "
              f"{row['beats_per_s']:>8.1f} {row['lag_p99']:>11.1f} {row['lag_worst']:>13.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,1000,3000,10000")
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=41.25)
    asyncio.run(main(parser.parse_args()))
