"""An idle fleet: N instances with the default features, connected and doing nothing, watched for M minutes.

After a warm-up (start-up sweeps done, idle pool connections given back), prints what the fleet costs while
nobody talks: table reads per minute in the bench's schemas (pg_stat_user_tables; every query of a bot reads
a table), connections the daemon holds (pg_stat_activity by application_name; at the end and at most), CPU %
of one core and RSS of the daemon. Usage:

    python bench/idle.py [--instances 300] [--minutes 5] [--warmup 45]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import asyncpg
from _harness import cpu_seconds, database_url, drop_schemas, make_bots, raise_fd_limit, rss_mb, start_daemon

from supervisor.emulator import Emulator

SAMPLE_SECONDS = 10.0


async def table_reads(connection: asyncpg.Connection, prefix: str) -> int:
    value = await connection.fetchval(
        "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables "
        "WHERE schemaname LIKE $1", f"{prefix}%")
    return int(value)


async def connections_held(connection: asyncpg.Connection, prefix: str) -> int:
    return int(await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1", f"discord-supervisor:{prefix}%"))


async def main(args: argparse.Namespace, db: str) -> None:
    run_id = secrets.token_hex(2)
    prefix = f"bench_b{run_id}"
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    connection = await asyncpg.connect(db)
    try:
        make_bots(emu, work / "instances", args.instances, db, run_id, members=10, config_extra="")
        daemon, ready = await start_daemon(emu, work / "instances", work)
        await asyncio.sleep(args.warmup)
        reads_before = await table_reads(connection, prefix)
        cpu_before, wall_before = cpu_seconds(daemon.pid), time.monotonic()
        peak = held = await connections_held(connection, prefix)
        deadline = wall_before + args.minutes * 60
        while time.monotonic() < deadline:
            await asyncio.sleep(min(SAMPLE_SECONDS, max(0.0, deadline - time.monotonic())))
            held = await connections_held(connection, prefix)
            peak = max(peak, held)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(daemon.pid) - cpu_before
        rss = rss_mb(daemon.pid)
        # Backends flush their table statistics when idle for a while or when they close: stop first, then read.
        await daemon.stop()
        await asyncio.sleep(1.0)
        reads = await table_reads(connection, prefix) - reads_before
    finally:
        await connection.close()
        await emu.stop()
        await drop_schemas(db, prefix)
    print(f"idle fleet: {args.instances} instances, default features, ready in {ready:.1f} s, "
          f"{args.warmup:.0f} s warm-up, then {wall / 60:.1f} min idle:")
    print(f"  table reads per minute: {reads / (wall / 60):.1f} ({reads} in all)")
    print(f"  connections held: {held} at the end, {peak} at most (sampled every {SAMPLE_SECONDS:.0f} s)")
    print(f"  CPU: {100 * cpu / wall:.2f} % of one core; RSS {rss:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=45.0, help="seconds after ready before measuring")
    raise_fd_limit()
    url, _server = database_url()  # the handle keeps a private server alive while needed
    asyncio.run(main(parser.parse_args(), url))
