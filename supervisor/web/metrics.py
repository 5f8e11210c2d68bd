"""/metrics: the daemon's state in Prometheus' text format, read when scraped (no work per event but `+= 1`).

On the event loop the numbers are copied into a snapshot (plain tuples: a few milliseconds at 1,000 instances);
prometheus-client's collector then builds and renders the families from it in a thread, so a scrape never holds
the loop for the rendering. Labels are instance names, states, event names, database servers and hosts: never a
guild, channel or user.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from supervisor.daemon.status import State
from supervisor.daemon.watchdog import LAG_BUCKETS

if TYPE_CHECKING:
    from supervisor.daemon.main import Daemon

P = "discord_supervisor_"

# (metric, help, counter attribute) of the plain per-instance counters
COUNTERS = (
    ("commands", "Commands invoked.", "commands"),
    ("command_failures", "Commands that ended in an error (the user got an error reply or none).",
     "command_failures"),
    ("replies", "Messages and interaction responses the bot sent.", "replies"),
    ("rest_requests", "HTTP requests to Discord's REST API (retries included).", "rest_calls"),
    ("rest_rate_limited", "REST answers with status 429.", "rest_429"),
    ("ai_requests", "Completions asked of a model provider.", "ai_requests"),
    ("ai_tokens", "Tokens (prompt and completion) the providers reported.", "ai_tokens"),
)


@dataclass
class InstanceRow:
    name: str
    state: str
    since: float
    restarts: int
    latency: float | None
    guilds: int | None
    counters: tuple[int, ...] = ()
    events: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)
    pool: tuple[int, int, int] | None = None  # in use, idle, waiting
    busy: float = 0.0
    stalls: int = 0
    stalled: float = 0.0


@dataclass
class Snapshot:
    taken: float
    instances: list[InstanceRow]
    lag_counts: list[int]
    lag_sum: float
    gc_seconds: float
    gc_collections: int
    threads: int
    databases: list[tuple[str, int, int, int]]  # server, open, limit, waits
    leases: dict[str, int]


def _pool_numbers(pool: Any) -> tuple[int, int, int] | None:
    try:
        size, idle = pool.get_size(), pool.get_idle_size()
        waiting = len(getattr(pool._queue, "_getters", ()))  # acquirers waiting for a connection (asyncpg's queue)
    except Exception:
        return None
    return size - idle, idle, waiting


def take_snapshot(daemon: Daemon) -> Snapshot:
    """On the loop: copy what the families need (no formatting here)."""
    fleet, watchdog = daemon.fleet, daemon.watchdog
    here = socket.gethostname()
    leases: dict[str, int] = {}
    rows = []
    for status in fleet.statuses():
        name = str(status["name"])
        runner = fleet.runners.get(name)
        latency = status.get("latency_ms")
        row = InstanceRow(name, str(status["state"]), float(status["since"]), int(status["restarts"]),  # type: ignore[arg-type]
                          None if latency is None else float(latency) / 1000, status.get("guilds"))  # type: ignore[arg-type]
        counters = fleet.counters.get(name)
        if counters is not None:
            row.counters = tuple(getattr(counters, attribute) for _m, _h, attribute in COUNTERS)
            row.events = dict(counters.events)
            row.extra = dict(counters.extra)
        if runner is not None:
            if runner.ctx is not None:
                row.pool = _pool_numbers(runner.ctx.pool)
            if runner._lease is not None:
                leases[here] = leases.get(here, 0) + 1
            elif runner.status.state is State.ELSEWHERE and runner.status.last_error:
                holder = runner.status.last_error.partition("(host ")[2].partition(",")[0] or "unknown"
                leases[holder] = leases.get(holder, 0) + 1
        row.busy = watchdog.busy.get(name, 0.0)
        row.stalls = watchdog.stalls.get(name, 0)
        row.stalled = watchdog.stalled_seconds.get(name, 0.0)
        rows.append(row)
    databases = [(server, budget.open, budget.limit, budget.waits)
                 for server, budget in daemon.databases._budgets.items()]
    return Snapshot(time.time(), rows, list(watchdog.lag_counts), watchdog.lag_sum, watchdog.gc_total,
                    watchdog.gc_collections, threading.active_count(), databases, leases)


class SnapshotCollector:
    """prometheus-client's custom collector over one snapshot."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from self._instances()
        yield from self._fleet()

    def _instances(self) -> Iterator[Metric]:
        s = self.snapshot
        labels = ["instance"]
        up = GaugeMetricFamily(P + "instance_up", "1 when the instance is connected and running.", labels=labels)
        state = GaugeMetricFamily(P + "instance_state", "The instance's current state (1 for that state).",
                                  labels=["instance", "state"])
        seconds = GaugeMetricFamily(P + "instance_state_seconds", "Seconds since the state began.", labels=labels)
        restarts = CounterMetricFamily(P + "instance_restarts", "Restarts (crashes, edits, manual).", labels=labels)
        latency = GaugeMetricFamily(P + "instance_gateway_latency_seconds", "Gateway heartbeat latency.",
                                    labels=labels)
        guilds = GaugeMetricFamily(P + "instance_guilds", "Guilds the bot is in.", labels=labels)
        events = CounterMetricFamily(P + "instance_events", "Gateway events dispatched, by discord.py event name.",
                                     labels=["instance", "event"])
        plain = [CounterMetricFamily(P + "instance_" + metric, text, labels=labels) for metric, text, _a in COUNTERS]
        pool = GaugeMetricFamily(P + "instance_db_pool_connections", "Pool connections in use or idle.",
                                 labels=["instance", "state"])
        waiting = GaugeMetricFamily(P + "instance_db_pool_waiting", "Tasks waiting for a pool connection.",
                                    labels=labels)
        busy = CounterMetricFamily(P + "instance_loop_seconds", "Event-loop time spent in this instance's tasks "
                                   "(sampled every 50 ms by the watchdog).", labels=labels)
        stalls = CounterMetricFamily(P + "instance_loop_stalls", "Event-loop stalls over 250 ms this instance caused.",
                                     labels=labels)
        stalled = CounterMetricFamily(P + "instance_loop_stall_seconds", "Length of those stalls.", labels=labels)
        extras: dict[str, CounterMetricFamily] = {}
        for row in s.instances:
            name = [row.name]
            up.add_metric(name, 1.0 if row.state == State.RUNNING else 0.0)
            state.add_metric([row.name, row.state], 1.0)
            seconds.add_metric(name, max(0.0, s.taken - row.since))
            restarts.add_metric(name, row.restarts)
            if row.latency is not None and math.isfinite(row.latency):
                latency.add_metric(name, row.latency)
            if row.guilds is not None:
                guilds.add_metric(name, row.guilds)
            for event, count in row.events.items():
                events.add_metric([row.name, event], count)
            for family, value in zip(plain, row.counters, strict=False):
                family.add_metric(name, value)
            if row.pool is not None:
                pool.add_metric([row.name, "in_use"], row.pool[0])
                pool.add_metric([row.name, "idle"], row.pool[1])
                waiting.add_metric(name, row.pool[2])
            busy.add_metric(name, row.busy)
            stalls.add_metric(name, row.stalls)
            stalled.add_metric(name, row.stalled)
            for key, value in row.extra.items():
                family = extras.get(key)
                if family is None:
                    family = extras[key] = CounterMetricFamily(P + "instance_" + key, f"Feature counter {key}.",
                                                               labels=labels)
                family.add_metric(name, value)
        yield from (up, state, seconds, restarts, latency, guilds, events, *plain, pool, waiting, busy, stalls,
                    stalled, *extras.values())

    def _fleet(self) -> Iterator[Metric]:
        s = self.snapshot
        buckets, running = [], 0
        for bound, count in zip((*LAG_BUCKETS, math.inf), s.lag_counts, strict=True):
            running += count
            buckets.append(("+Inf" if bound == math.inf else str(bound), running))
        lag = HistogramMetricFamily(P + "loop_lag_seconds", "How late the watchdog's 100 ms heartbeat woke.")
        lag.add_metric([], buckets, s.lag_sum)
        yield lag
        yield CounterMetricFamily(P + "gc_seconds", "Time spent in garbage collection.", value=s.gc_seconds)
        yield CounterMetricFamily(P + "gc_collections", "Garbage collections.", value=s.gc_collections)
        yield GaugeMetricFamily(P + "threads", "Python threads in the daemon.", value=s.threads)
        states = GaugeMetricFamily(P + "instances", "Instances by state.", labels=["state"])
        by_state: dict[str, int] = {}
        for row in s.instances:
            by_state[row.state] = by_state.get(row.state, 0) + 1
        for name, count in sorted(by_state.items()):
            states.add_metric([name], count)
        yield states
        opened = GaugeMetricFamily(P + "db_connections", "Connections open to each database server.",
                                   labels=["database"])
        limit = GaugeMetricFamily(P + "db_connection_limit", "Connections the daemon allows itself on each server.",
                                  labels=["database"])
        waits = CounterMetricFamily(P + "db_connection_waits", "Connections that waited for room on the server.",
                                    labels=["database"])
        for server, open_count, budget, waited in s.databases:
            opened.add_metric([server], open_count)
            limit.add_metric([server], budget)
            waits.add_metric([server], waited)
        yield from (opened, limit, waits)
        leases = GaugeMetricFamily(P + "lease_holders", "Instances of this daemon's fleet by the host holding them.",
                                   labels=["host"])
        for host, count in sorted(s.leases.items()):
            leases.add_metric([host], count)
        yield leases


def render(snapshot: Snapshot) -> bytes:
    """In a thread: the text format, with the process' own metrics (RSS, CPU, open files)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    ProcessCollector(registry=registry)
    return generate_latest(registry)
