"""Member-activity counting: database writes per message, batched (what auto_role does) vs one write per message
(what discord-bot-rs did), side by side.

N instances (default 200), each with its own schema (migrated as the daemon does) and its own small pool on one
connection budget, as the daemon runs them. A producer posts M messages a second (default 50) spread at random
over the instances and 100 members each, for S seconds (default 60), and hands each to the instance's counter.
This drives auto_role's counting code (features/auto_role/activity.py and queries.py) in-process, without 200
Discord connections: the gateway is not what is measured here. Batched: each instance flushes every 10 s (its
first flush at a random offset) and once at the end (the stop flush). One-per-message: each message is its own
upsert, as the original's increment_message_count. Both modes end by checking the stored counts equal the
messages sent. A write's time includes waiting for a connection (every pool shares one budget, --budget, as in
the daemon); "sum s" adds up every write's time. Usage:

    .venv/bin/python bench/activity.py [--instances 200] [--rate 50] [--seconds 60] [--budget 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from dataclasses import dataclass, field

import asyncpg

from features.auto_role import queries
from features.auto_role.activity import ActivityCounter
from features.auto_role.cog import FLUSH_SECONDS
from supervisor.database import open_pool
from supervisor.migrator import load_migrations, migrate
from supervisor.pg.budget import ConnectionBudget

MEMBERS_PER_GUILD = 100


@dataclass
class Outcome:
    messages: int = 0
    writes: int = 0
    write_seconds: list[float] = field(default_factory=list)
    stored: int = 0
    wall: float = 0.0


async def timed(outcome: Outcome, work: asyncio.Future | asyncio.Task | object) -> None:
    started = time.perf_counter()
    await work  # type: ignore[misc]
    outcome.write_seconds.append(time.perf_counter() - started)


async def produce(rate: float, seconds: float, instances: int, on_message) -> int:
    """`rate` messages a second for `seconds`, each to a random (instance, guild member)."""
    rng = random.Random(7)
    sent = 0
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            on_message(rng.randrange(instances), 1000 + rng.randrange(MEMBERS_PER_GUILD))
            sent += 1
        await asyncio.sleep(1 / rate)
    return sent


async def batched(pools: list[asyncpg.Pool], rate: float, seconds: float) -> Outcome:
    outcome = Outcome()
    counters = [ActivityCounter(pool) for pool in pools]

    async def flusher(counter: ActivityCounter) -> None:
        await asyncio.sleep(random.uniform(0, FLUSH_SECONDS))
        while True:
            if counter.pending_total():
                await timed(outcome, counter.flush())
            await asyncio.sleep(FLUSH_SECONDS)

    flushers = [asyncio.create_task(flusher(c)) for c in counters]
    started = time.perf_counter()
    outcome.messages = await produce(rate, seconds, len(pools),
                                     lambda i, member: counters[i].record(i + 1, member, None))
    for task in flushers:
        task.cancel()
    await asyncio.gather(*flushers, return_exceptions=True)
    await asyncio.gather(*(timed(outcome, c.flush()) for c in counters if c.pending_total()))  # the stop flush
    outcome.wall = time.perf_counter() - started
    outcome.writes = sum(c.writes for c in counters)
    return outcome


async def one_per_message(pools: list[asyncpg.Pool], rate: float, seconds: float) -> Outcome:
    outcome = Outcome()
    tasks: set[asyncio.Task] = set()

    def on_message(i: int, member: int) -> None:
        task = asyncio.create_task(timed(outcome, queries.add_count(pools[i], queries.Increment(i + 1, member, 1,
                                                                                                  None))))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    started = time.perf_counter()
    outcome.messages = await produce(rate, seconds, len(pools), on_message)
    await asyncio.gather(*tasks)
    outcome.wall = time.perf_counter() - started
    outcome.writes = len(outcome.write_seconds)
    return outcome


async def stored(pools: list[asyncpg.Pool]) -> int:
    totals = await asyncio.gather(*(p.fetchval("SELECT COALESCE(sum(message_count), 0) FROM member_activity")
                                    for p in pools))
    return int(sum(totals))


async def run(args: argparse.Namespace) -> None:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    migrations = load_migrations()
    tag = f"bench_act_{os.getpid()}"
    modes = {"batched (auto_role)": batched, "one write per message": one_per_message}
    results: dict[str, Outcome] = {}
    admin = await asyncpg.connect(url)
    try:
        for index, (label, mode) in enumerate(modes.items()):
            schemas = [f"{tag}_{index}_{n}" for n in range(args.instances)]
            budget = ConnectionBudget(args.budget)
            for start in range(0, len(schemas), 20):
                await asyncio.gather(*(migrate(url, s, migrations) for s in schemas[start:start + 20]))
            pools = [await open_pool(url, s, 2, budget=budget) for s in schemas]
            try:
                print(f"{label}: {args.instances} instances, {args.rate:g} messages/s for {args.seconds:g} s ...",
                      flush=True)
                outcome = await mode(pools, args.rate, args.seconds)
                outcome.stored = await stored(pools)
                results[label] = outcome
            finally:
                await asyncio.gather(*(p.close() for p in pools))
                for schema in schemas:
                    await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await admin.close()

    print()
    print(f"{'':24} {'messages':>9} {'stored':>7} {'writes':>7} {'writes/msg':>10} {'write ms p50':>12} "
          f"{'write ms max':>12} {'sum s':>9}")
    for label, o in results.items():
        p50 = statistics.median(o.write_seconds) * 1000 if o.write_seconds else 0.0
        worst = max(o.write_seconds) * 1000 if o.write_seconds else 0.0
        print(f"{label:24} {o.messages:9d} {o.stored:7d} {o.writes:7d} {o.writes / max(o.messages, 1):10.3f} "
              f"{p50:12.1f} {worst:12.1f} {sum(o.write_seconds):9.2f}")
    for label, o in results.items():
        assert o.stored == o.messages, f"{label}: stored {o.stored} of {o.messages} messages"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second, across all instances")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--budget", type=int, default=30, help="connections the process may hold on the server")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
