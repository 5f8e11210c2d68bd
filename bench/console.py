"""The fleet console and /metrics at scale, against the real daemon and the emulator.

Starts N instances with --http-listen, waits --seconds with nothing asked of it (the fleet's own loop lateness,
for comparison), then for --seconds: one /metrics scrape per second, 5 open consoles (each loads the fleet
page, then holds its live feed open), 5 open instance pages (each of its own instance, live too), and one more
page load every 10 s. Prints the scrape
and page times (wall clock, and the daemon's own Server-Timing: how long its event loop was held, how long the
off-loop rendering took), the fleet page's size, and the daemon loop's worst lateness during the run (its
watchdog's heartbeat histogram, read from /metrics, and any stall it logged). Goals: /metrics under 100 ms, the
loop never held over 50 ms by a scrape or a page, the fleet page under 1 MB. Usage:

    python bench/console.py [--instances 1000] [--seconds 60] [--consoles 5] [--instance-pages 5]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import aiohttp
from _harness import database_url, drop_schemas, freeze_heap, make_bots, raise_fd_limit, start_daemon
from prometheus_client.parser import text_string_to_metric_families

from supervisor.emulator import Emulator

LAG = "discord_supervisor_loop_lag_seconds_bucket"
CURL = shutil.which("curl")


def server_timing(header: str, name: str) -> float:
    found = re.search(rf"{name};dur=([\d.]+)", header)
    return float(found.group(1)) if found else float("nan")


def lag_buckets(text: str) -> dict[str, float]:
    for family in text_string_to_metric_families(text):
        if family.name == "discord_supervisor_loop_lag_seconds":
            return {s.labels["le"]: s.value for s in family.samples if s.name == LAG}
    return {}


def window_of(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {le: after.get(le, 0) - before.get(le, 0) for le in after}


def worst_of(window: dict[str, float]) -> str:
    """The histogram bucket the worst beat fell in, e.g. '25-50 ms'."""
    worst, previous = "none", 0.0
    bounds = sorted(window, key=float)
    for index, le in enumerate(bounds):
        if window[le] > previous:
            low = f"{float(bounds[index - 1]) * 1000:g}" if index else "0"
            worst = f"{low}-{float(le) * 1000:g} ms"
        previous = window[le]
    return worst


async def timed_get(http: aiohttp.ClientSession, url: str) -> tuple[float, str, str]:
    started = time.perf_counter()
    async with http.get(url) as answer:
        body = await answer.text()
        assert answer.status == 200, (answer.status, body[:200])
        return (time.perf_counter() - started) * 1000, answer.headers.get("server-timing", ""), body


async def scrape_by_curl(url: str) -> tuple[float, str]:
    """One scrape from a process of its own, as Prometheus makes it: (curl's total time in ms, Server-Timing). The
    bench's own client shares its loop with the emulator's 1,000 connections, whose lateness it adds to its walls."""
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "-o", "/dev/null", "-D", "-", "-w", "\ntotal %{time_total}", url,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    lines = out.decode(errors="replace").splitlines()
    timing = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("server-timing:")), "")
    return float(lines[-1].split()[-1]) * 1000, timing


async def console(http: aiohttp.ClientSession, base: str, stop: asyncio.Event,
                  pages: list[tuple[float, float, float]],
                  events: list[int], instance: str | None = None) -> None:
    """One open console: the fleet page (or `instance`'s page), then its live feed for the rest of the run (as a
    person leaves it open)."""
    page, feed_url = (f"{base}/", f"{base}/events") if instance is None else (
        f"{base}/instance/{quote(instance)}", f"{base}/events?{urlencode({'instance': instance})}")
    wall, timing, _body = await timed_get(http, page)
    pages.append((wall, server_timing(timing, "loop"), server_timing(timing, "render")))
    async with http.get(feed_url) as feed:
        async for _line in feed.content:
            events[0] += 1
            if stop.is_set():
                return


async def run(db: str, instances: int, seconds: float, consoles: int, instance_pages: int, run_id: str) -> None:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    root = work / "instances"
    try:
        make_bots(emu, root, instances, db, run_id, members=10)
        daemon, start = await start_daemon(emu, root, work, "--http-listen", "127.0.0.1:0")
        base = str((await daemon.wait_log(lambda e: e.get("event") == "http_listening"))["url"]).rstrip("/")
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready")
        freeze_heap()
        async with aiohttp.ClientSession() as http:
            # First the same time with no console and no scrape: the fleet's own lateness, to compare.
            _wall, _timing, text = await timed_get(http, f"{base}/metrics")
            quiet_stalls = daemon.count(lambda e: e.get("event") == "event_loop_stalled")
            quiet_before = lag_buckets(text)
            await asyncio.sleep(seconds)
            _wall, _timing, text = await timed_get(http, f"{base}/metrics")
            quiet = window_of(quiet_before, lag_buckets(text))
            quiet_stalls = daemon.count(lambda e: e.get("event") == "event_loop_stalled") - quiet_stalls
            before = lag_buckets(text)
            _wall, _timing, page = await timed_get(http, f"{base}/")
            stop, events = asyncio.Event(), [0]
            pages: list[tuple[float, float, float]] = []
            singles: list[tuple[float, float, float]] = []
            single_events = [0]
            stalls_before = daemon.count(lambda e: e.get("event") == "event_loop_stalled")
            tasks = [asyncio.create_task(console(http, base, stop, pages, events)) for _ in range(consoles)]
            names = sorted(path.name for path in root.iterdir())
            tasks += [asyncio.create_task(console(http, base, stop, singles, single_events,
                                                  names[index * len(names) // instance_pages]))
                      for index in range(instance_pages)]
            scrapes: list[tuple[float, float, float]] = []
            curl_walls: list[float] = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                tick = time.monotonic()
                wall, timing, text = await timed_get(http, f"{base}/metrics")
                scrapes.append((wall, server_timing(timing, "loop"), server_timing(timing, "render")))
                if CURL is not None:
                    curl_walls.append((await scrape_by_curl(f"{base}/metrics"))[0])
                if len(scrapes) % 10 == 0:  # and a fresh page every 10 s, beside the open ones
                    wall, timing, _body = await timed_get(http, f"{base}/")
                    pages.append((wall, server_timing(timing, "loop"), server_timing(timing, "render")))
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            after = lag_buckets(text)
        stalls = daemon.count(lambda e: e.get("event") == "event_loop_stalled") - stalls_before
        stalled = [e for e in daemon.logs if e.get("event") == "event_loop_stalled"][-stalls:] if stalls else []
        await daemon.stop()
    finally:
        await emu.stop()
    window = window_of(before, after)
    walls, loops, renders = zip(*scrapes, strict=True)
    print(f"console bench: {instances} instances (all running after {start:.0f} s), {seconds:.0f} s, one scrape "
          f"per second, {consoles} open consoles")
    print(f"  /metrics: {len(scrapes)} scrapes, wall median {statistics.median(walls):.0f} ms, max {max(walls):.0f} "
          f"ms; daemon loop held median {statistics.median(loops):.1f} ms, max {max(loops):.1f} ms; rendering "
          f"(off the loop) median {statistics.median(renders):.0f} ms; {len(text) / 1024:.0f} KiB")
    if curl_walls:
        ordered = sorted(curl_walls)
        print(f"  /metrics from curl in a process of its own (as Prometheus scrapes): {len(ordered)} scrapes, median "
              f"{statistics.median(ordered):.0f} ms, p95 {ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms, max "
              f"{ordered[-1]:.0f} ms")
    if pages:
        print(f"  fleet page: {len(pages)} loads, wall median {statistics.median(p[0] for p in pages):.0f} ms, max "
              f"{max(p[0] for p in pages):.0f} ms; loop held max {max(p[1] for p in pages):.1f} ms; rendering (off the "
              f"loop) median {statistics.median(p[2] for p in pages):.0f} ms; "
              f"{len(page.encode()) / 1024:.0f} KiB of HTML")
    if singles:
        print(f"  instance pages: {len(singles)} loads, wall median {statistics.median(p[0] for p in singles):.0f} "
              f"ms; loop held max {max(p[1] for p in singles):.1f} ms")
    print(f"  live feed: {events[0]} lines received by the fleet pages, {single_events[0]} by the instance pages")
    print(f"  daemon loop lateness (watchdog heartbeat), worst: {worst_of(window)} with the scrapes and consoles "
          f"({stalls} stalls over 250 ms logged); {worst_of(quiet)} in the same time without them ({quiet_stalls})")
    for entry in stalled:  # what held the loop, as the watchdog saw it
        print(f"    stall {entry.get('stalled_ms')} ms: {entry.get('activity')} (instance {entry.get('instance')}, "
              f"gc {entry.get('gc_ms')} ms)")


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    try:
        await run(db, args.instances, args.seconds, args.consoles, args.instance_pages, run_id)
    finally:
        await drop_schemas(db, f"bench_b{run_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--consoles", type=int, default=5)
    parser.add_argument("--instance-pages", type=int, default=5)
    raise_fd_limit()
    url, _server = database_url()  # the handle keeps a private server alive while needed
    asyncio.run(main(parser.parse_args(), url))
