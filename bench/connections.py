"""The connection budget under a burst: many instances against one server's max_connections.

300 instances (each its own schema and pool, pool_max_size 2) against a private server with max_connections =
100. Every instance runs one query at the same moment; three rounds, a second apart (well inside the pools' idle
timeout). In one run, side by side: plain pools (open_pool without a budget: asyncpg pools that connect on
first use) and ours (the same pools on the connection budget). Prints the errors, the peak of the server's
client connections (sampled every few ms), and the burst's median and worst latency. The private server keeps
the machine's shared one from being starved. Usage:

    .venv/bin/python bench/connections.py [--instances 300] [--rounds 3] [--pool-size 2] [--max-connections 100]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from supervisor.database import open_pool
from supervisor.pg.budget import ConnectionBudget, ServerLimits, read_limits
from supervisor.pg.scratch import scratch_server

CLIENTS = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
QUERY = "SELECT count(*) FROM notes"


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    peak: int = 0
    start_errors: int = 0
    budget: ConnectionBudget | None = None


async def prepare(url: str, count: int) -> list[str]:
    schemas = [f"bench_{index:04d}" for index in range(count)]
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            for schema in schemas:
                await connection.execute(
                    f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".notes (id SERIAL PRIMARY KEY, body TEXT);'
                    f"INSERT INTO \"{schema}\".notes (body) SELECT 'note ' || n FROM generate_series(1, 10) n")
    finally:
        await connection.close()
    return schemas


async def sample_peak(url: str, stop: asyncio.Event) -> int:
    """The most client connections seen on the server, this sampler's own excluded."""
    connection = await asyncpg.connect(url)
    peak = 0
    try:
        while not stop.is_set():
            peak = max(peak, await connection.fetchval(CLIENTS) - 1)
            await asyncio.sleep(0.002)
    finally:
        await connection.close()
    return peak


async def open_pools(url: str, schemas: list[str], size: int, budget: ConnectionBudget | None,
                     outcome: Outcome) -> list[asyncpg.Pool]:
    """All at once, as the daemon starts its instances; without a budget these are plain asyncpg pools."""
    opened = await asyncio.gather(*(open_pool(url, schema, size, budget=budget) for schema in schemas),
                                  return_exceptions=True)
    outcome.start_errors = sum(isinstance(pool, BaseException) for pool in opened)
    return [pool for pool in opened if isinstance(pool, asyncpg.Pool)]


async def timed(pool: asyncpg.Pool, outcome: Outcome) -> None:
    started = time.perf_counter()
    try:
        await pool.fetchval(QUERY)
    except Exception as error:
        outcome.errors[type(error).__name__] += 1
        return
    outcome.latencies_ms.append((time.perf_counter() - started) * 1000)


async def settle(url: str) -> None:
    """Wait until the server has no client connection but ours (the previous mode's are gone)."""
    connection = await asyncpg.connect(url)
    try:
        while await connection.fetchval(CLIENTS) > 1:
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def run_mode(url: str, schemas: list[str], size: int, rounds: int, budgeted: bool) -> Outcome:
    await settle(url)
    outcome = Outcome()
    if budgeted:
        limits = await limits_of(url)
        outcome.budget = ConnectionBudget(limits.budget)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_peak(url, stop))
    pools = await open_pools(url, schemas, size, outcome.budget, outcome)
    try:
        for index in range(rounds):
            if index:
                await asyncio.sleep(1.0)
            await asyncio.gather(*(timed(pool, outcome) for pool in pools))
    finally:
        stop.set()
        outcome.peak = await sampler
        await asyncio.gather(*(pool.close() for pool in pools), return_exceptions=True)
    return outcome


async def limits_of(url: str) -> ServerLimits:
    connection = await asyncpg.connect(url)
    try:
        return await read_limits(connection)
    finally:
        await connection.close()


def report(args: argparse.Namespace, limits: ServerLimits, plain: Outcome, ours: Outcome) -> None:
    queries = args.instances * args.rounds

    def latency(outcome: Outcome, pick: str) -> str:
        values = outcome.latencies_ms
        if not values:
            return "-"
        return f"{statistics.median(values):.1f}" if pick == "median" else f"{max(values):.1f}"

    def errors(outcome: Outcome) -> str:
        total = sum(outcome.errors.values()) + outcome.start_errors
        kinds = ", ".join(f"{n} {kind}" for kind, n in outcome.errors.most_common())
        return f"{total}" + (f" ({kinds})" if kinds else "")

    budget = ours.budget
    assert budget is not None
    rows = [
        (f"errors (of {queries} queries)", errors(plain), errors(ours)),
        ("queries answered", str(len(plain.latencies_ms)), str(len(ours.latencies_ms))),
        ("peak server connections", str(plain.peak), str(ours.peak)),
        ("median latency, answered (ms)", latency(plain, "median"), latency(ours, "median")),
        ("worst latency, answered (ms)", latency(plain, "worst"), latency(ours, "worst")),
        ("budget (connections) / waits", "-", f"{budget.limit} / {budget.waits}"),
        ("'too many clients' retried", "-", str(budget.refusals)),
    ]
    print(f"{args.instances} instances (pool_max_size {args.pool_size}) on PostgreSQL {limits.version}, "
          f"max_connections {limits.max_connections} ({limits.reserved} reserved); {args.rounds} rounds of one "
          "query per instance at once, 1 s apart")
    width = max(len(row[0]) for row in rows)
    second = max(len(row[1]) for row in rows) + 2
    print(f"{'':<{width}}  {'plain pools':<{second}}budgeted (ours)")
    for name, left, right in rows:
        print(f"{name:<{width}}  {left:<{second}}{right}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--max-connections", type=int, default=100)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async with scratch_server({"max_connections": str(args.max_connections)}) as server:
        url = await server.start()
        schemas = await prepare(url, args.instances)
        limits = await limits_of(url)
        plain = await run_mode(url, schemas, args.pool_size, args.rounds, budgeted=False)
        ours = await run_mode(url, schemas, args.pool_size, args.rounds, budgeted=True)
    report(args, limits, plain, ours)


if __name__ == "__main__":
    asyncio.run(main())
