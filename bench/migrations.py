"""Cold-start migrations: fresh schemas brought up to date, one transaction per migration (how the migrator
worked before) against one transaction per schema with every pending migration and its row (how it works now,
holding sqlx's lock too). Rounds alternate between the two so load on a shared machine hits both alike.
Usage:

    .venv/bin/python bench/migrations.py [--schemas 200] [--rounds 3] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time

from _harness import database_url, drop_schemas

from supervisor.database import connect, ensure_schema
from supervisor.migrator import (
    _TABLE_COLUMNS,
    LEDGER_TABLE,
    SQLX_TABLE,
    _apply_alone,
    _qualified,
    load_migrations,
    migrate,
)


async def one_per_migration(url: str, schema: str) -> None:
    """The former path: the schema, the table, then each migration in a transaction of its own."""
    connection = await connect(url, schema)
    try:
        await ensure_schema(connection, schema, url)
        for table in (SQLX_TABLE, LEDGER_TABLE):  # discord-bot-rs's versions, then ours
            await connection.execute(f"CREATE TABLE IF NOT EXISTS {_qualified(schema, table)} {_TABLE_COLUMNS}")
        for migration in load_migrations():
            await _apply_alone(connection, schema, migration)
    finally:
        await connection.close()


async def one_per_schema(url: str, schema: str) -> None:
    await migrate(url, schema, load_migrations())


async def timed(url: str, prefix: str, count: int, concurrency: int, way) -> float:
    gate = asyncio.Semaphore(concurrency)  # as the daemon's STARTUP_CONCURRENCY

    async def one(index: int) -> None:
        async with gate:
            await way(url, f"{prefix}_{index}")

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    await drop_schemas(url, prefix)
    return elapsed


async def main(args: argparse.Namespace, url: str) -> None:
    run_id = secrets.token_hex(2)
    ways = {"one transaction per migration (before)": one_per_migration,
            "one transaction per schema (now)": one_per_schema}
    times: dict[str, list[float]] = {name: [] for name in ways}
    try:
        for round_number in range(args.rounds):
            for index, (name, way) in enumerate(ways.items()):
                prefix = f"bench_m{run_id}_{round_number}{index}"
                times[name].append(await timed(url, prefix, args.schemas, args.concurrency, way))
    finally:
        await drop_schemas(url, f"bench_m{run_id}")
    print(f"migrating {args.schemas} fresh schemas, {args.concurrency} at a time, {args.rounds} rounds each:")
    for name, values in times.items():
        print(f"  {name:40} median {statistics.median(values):6.2f} s  "
              f"(rounds: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemas", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    url, server = database_url()
    asyncio.run(main(parser.parse_args(), url))
