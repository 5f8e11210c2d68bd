"""What the event-loop watchdog costs, and what it sees.

Prints the CPU the watchdog takes on an otherwise idle loop (its heartbeat and its thread), and the stall it
reports for one blocking call. Usage:

    .venv/bin/python bench/watchdog.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from structlog.testing import capture_logs

from supervisor.daemon.watchdog import LoopWatchdog


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def idle_cpu(seconds: float, watched: bool) -> float:
    watchdog = LoopWatchdog()
    if watched:
        watchdog.start()
    cpu, wall = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    share = (cpu_seconds() - cpu) / (time.monotonic() - wall) * 100
    if watched:
        await watchdog.stop()
    return share


async def main(seconds: float) -> None:
    off = await idle_cpu(seconds, watched=False)
    on = await idle_cpu(seconds, watched=True)
    print(f"idle loop, {seconds:g} s:  without watchdog {off:.2f}% of one core   with watchdog {on:.2f}%")
    with capture_logs() as logs:
        watchdog = LoopWatchdog()
        watchdog.start()
        await asyncio.sleep(0.3)
        time.sleep(0.5)  # a blocking call on the loop
        await asyncio.sleep(0.3)
        await watchdog.stop()
    stalls = [e for e in logs if e["event"] == "event_loop_stalled"]
    print(f"a 500 ms blocking call: {len(stalls)} report(s), stalled_ms={[e['stalled_ms'] for e in stalls]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args().seconds))
