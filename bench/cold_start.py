"""Cold start is PostgreSQL DDL: which way of creating many fresh schemas is fastest on this server?

Each round creates `--schemas` fresh schemas with every migration, in turn by:
- shipped: `migrate()` per schema (its own connection, advisory locks, one transaction), `--concurrency` at once;
- batch: one connection and ONE transaction per `--batch` schemas (no locks, no ledger rows: the DDL alone),
  `--concurrency` batches at once;
- template: the tables of one migrated schema copied with CREATE TABLE ... (LIKE ... INCLUDING ALL), one
  transaction per schema (for the DDL cost only: a SERIAL column's default would still point at the template's
  sequence, so it is not a way the daemon could use as is).
and `shipped` again with 2 and 16 at once (parallel connections within the connection budget). Rounds
alternate, so the server's load (and its catalog's growth) falls on every approach alike. Usage:

    python bench/cold_start.py [--schemas 48] [--rounds 2] [--concurrency 8] [--batch 8]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
from _harness import database_url, drop_schemas

from supervisor.migrator import load_migrations, migrate

MIGRATIONS = load_migrations()


async def shipped(url: str, names: list[str], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        async with gate:
            await migrate(url, name, MIGRATIONS)

    await asyncio.gather(*(one(name) for name in names))


def schema_sql(name: str) -> str:
    body = ";\n".join(m.sql.decode() for m in MIGRATIONS)
    return f'CREATE SCHEMA "{name}";\nSET LOCAL search_path TO "{name}";\n{body}'


async def batched(url: str, names: list[str], concurrency: int, size: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(group: list[str]) -> None:
        async with gate:
            connection = await asyncpg.connect(url)
            try:
                async with connection.transaction():
                    await connection.execute(";\n".join(schema_sql(name) for name in group))
            finally:
                await connection.close()

    await asyncio.gather(*(one(names[i:i + size]) for i in range(0, len(names), size)))


async def templated(url: str, names: list[str], concurrency: int, template: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        tables = [r["tablename"] for r in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1", template)]
    finally:
        await connection.close()
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        async with gate:
            conn = await asyncpg.connect(url)
            try:
                async with conn.transaction():
                    await conn.execute(f'CREATE SCHEMA "{name}";' + "".join(
                        f'CREATE TABLE "{name}"."{t}" (LIKE "{template}"."{t}" INCLUDING ALL);' for t in tables))
            finally:
                await conn.close()

    await asyncio.gather(*(one(name) for name in names))


async def main(args: argparse.Namespace, url: str) -> None:
    run_id = secrets.token_hex(2)
    prefix = f"bench_cold{run_id}"
    template = f"{prefix}_template"
    await migrate(url, template, MIGRATIONS)
    approaches: dict[str, Callable[[list[str]], Awaitable[None]]] = {
        f"shipped, {args.concurrency} at once": lambda names: shipped(url, names, args.concurrency),
        f"batch of {args.batch} per transaction, {args.concurrency} at once":
            lambda names: batched(url, names, args.concurrency, args.batch),
        f"template copy, {args.concurrency} at once": lambda names: templated(url, names, args.concurrency, template),
        "shipped, 2 at once": lambda names: shipped(url, names, 2),
        "shipped, 16 at once": lambda names: shipped(url, names, 16),
    }
    figures: dict[str, list[float]] = {label: [] for label in approaches}
    try:
        for round_number in range(args.rounds):
            for index, (label, approach) in enumerate(approaches.items()):
                names = [f"{prefix}_r{round_number}a{index}_{i}" for i in range(args.schemas)]
                started = time.perf_counter()
                await approach(names)
                figures[label].append(time.perf_counter() - started)
                print(f"round {round_number + 1}: {label}: {figures[label][-1]:.2f} s", flush=True)
                await drop_schemas(url, f"{prefix}_r{round_number}a{index}_")
    finally:
        await drop_schemas(url, prefix)
    print(f"\n{args.schemas} fresh schemas ({len(MIGRATIONS)} migrations each), median of {args.rounds} rounds:")
    for label, seconds in figures.items():
        median = statistics.median(seconds)
        print(f"{label:>45}: {median:6.2f} s, {median / args.schemas * 1000:5.1f} ms per schema")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemas", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    url, _server = database_url()
    asyncio.run(main(parser.parse_args(), url))
