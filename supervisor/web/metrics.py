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
from supervisor.web.rows import Slices, statuses

if TYPE_CHECKING:
    from supervisor.daemon.main import Daemon
    from supervisor.daemon.runner import InstanceRunner

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


def _lease_host(runner: InstanceRunner, here: str) -> str | None:
    """The host whose daemon holds the instance's lease (None: nobody holds it, e.g. only placed there yet)."""
    if runner.holds_lease:
        return here
    holder = runner.elsewhere
    if runner.status.state is not State.ELSEWHERE or holder is None or holder.placed:
        return None
    return holder.host or holder.address or "unknown"


async def take_snapshot(daemon: Daemon, slices: Slices | None = None) -> Snapshot:
    """On the loop, a slice of the fleet at a time: copy what the families need (no formatting here)."""
    fleet, watchdog = daemon.fleet, daemon.watchdog
    here = socket.gethostname()
    leases: dict[str, int] = {}
    rows = []
    async for status in statuses(fleet, slices=slices):
        name = str(status["name"])
        runner = fleet.runners.get(name)
        latency = status.get("latency_ms")
        row = InstanceRow(name, str(status["state"]), float(status["since"]), int(status["restarts"]),
                          None if latency is None else float(latency) / 1000, status.get("guilds"))
        counters = fleet.counters.get(name)
        if counters is not None:
            row.counters = tuple(getattr(counters, attribute) for _m, _h, attribute in COUNTERS)
            row.events = dict(counters.events)
            row.extra = dict(counters.extra)
        if runner is not None:
            if runner.ctx is not None:
                row.pool = _pool_numbers(runner.ctx.pool)
            holder = _lease_host(runner, here)
            if holder is not None:
                leases[holder] = leases.get(holder, 0) + 1
        row.busy = watchdog.busy.get(name, 0.0)
        row.stalls = watchdog.stalls.get(name, 0)
        row.stalled = watchdog.stalled_seconds.get(name, 0.0)
        rows.append(row)
    databases = [(server, budget.open, budget.limit, budget.waits)
                 for server, budget in daemon.databases._budgets.items()]
    return Snapshot(time.time(), rows, list(watchdog.lag_counts), watchdog.lag_sum, watchdog.gc_total,
                    watchdog.gc_collections, threading.active_count(), databases, leases)


# Per-instance families: (name, type, help). Written straight in the text format by write_instances.
INSTANCE_FAMILIES = (
    ("instance_up", "gauge", "1 when the instance is connected and running."),
    ("instance_state", "gauge", "The instance's current state (1 for that state)."),
    ("instance_state_seconds", "gauge", "Seconds since the state began."),
    ("instance_restarts_total", "counter", "Restarts (crashes, edits, manual)."),
    ("instance_gateway_latency_seconds", "gauge", "Gateway heartbeat latency."),
    ("instance_guilds", "gauge", "Guilds the bot is in."),
    ("instance_events_total", "counter", "Gateway events dispatched, by discord.py event name."),
    *((f"instance_{metric}_total", "counter", text) for metric, text, _attribute in COUNTERS),
    ("instance_db_pool_connections", "gauge", "Pool connections in use or idle."),
    ("instance_db_pool_waiting", "gauge", "Tasks waiting for a pool connection."),
    ("instance_loop_seconds_total", "counter",
     "Event-loop time spent in this instance's tasks (sampled every 50 ms by the watchdog)."),
    ("instance_loop_stalls_total", "counter", "Event-loop stalls over 250 ms this instance caused."),
    ("instance_loop_stall_seconds_total", "counter", "Length of those stalls."),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value):
        return repr(value)
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def write_instances(snapshot: Snapshot) -> str:
    """The per-instance families in Prometheus' text format (what prometheus-client's generate_latest writes).

    Written directly: generate_latest costs about 10 µs per sample, and 1,000 instances make some 30,000 samples
    (a third of a second); these lines cost a tenth of that. The fleet-wide families, few, go through
    prometheus-client's collector below.
    """
    lines: dict[str, list[str]] = {name: [] for name, _type, _help in INSTANCE_FAMILIES}
    extras: dict[str, list[str]] = {}
    plain = [lines[f"instance_{metric}_total"] for metric, _text, _attribute in COUNTERS]
    for row in snapshot.instances:
        me = f'{{instance="{_label(row.name)}"}} '
        lines["instance_up"].append(f"{P}instance_up{me}{1 if row.state == State.RUNNING else 0}")
        lines["instance_state"].append(
            f'{P}instance_state{{instance="{_label(row.name)}",state="{_label(row.state)}"}} 1')
        lines["instance_state_seconds"].append(
            f"{P}instance_state_seconds{me}{_number(max(0.0, snapshot.taken - row.since))}")
        lines["instance_restarts_total"].append(f"{P}instance_restarts_total{me}{row.restarts}")
        if row.latency is not None and math.isfinite(row.latency):
            lines["instance_gateway_latency_seconds"].append(
                f"{P}instance_gateway_latency_seconds{me}{_number(row.latency)}")
        if row.guilds is not None:
            lines["instance_guilds"].append(f"{P}instance_guilds{me}{row.guilds}")
        for event, count in row.events.items():
            lines["instance_events_total"].append(
                f'{P}instance_events_total{{instance="{_label(row.name)}",event="{_label(event)}"}} {count}')
        for (metric, _text, _attribute), family, value in zip(COUNTERS, plain, row.counters, strict=False):
            family.append(f"{P}instance_{metric}_total{me}{value}")
        if row.pool is not None:
            lines["instance_db_pool_connections"] += [
                f'{P}instance_db_pool_connections{{instance="{_label(row.name)}",state="in_use"}} {row.pool[0]}',
                f'{P}instance_db_pool_connections{{instance="{_label(row.name)}",state="idle"}} {row.pool[1]}']
            lines["instance_db_pool_waiting"].append(f"{P}instance_db_pool_waiting{me}{row.pool[2]}")
        lines["instance_loop_seconds_total"].append(f"{P}instance_loop_seconds_total{me}{_number(row.busy)}")
        lines["instance_loop_stalls_total"].append(f"{P}instance_loop_stalls_total{me}{row.stalls}")
        lines["instance_loop_stall_seconds_total"].append(
            f"{P}instance_loop_stall_seconds_total{me}{_number(row.stalled)}")
        for key, value in row.extra.items():
            if f"instance_{key}_total" not in lines:  # never a second family under a built-in name
                extras.setdefault(key, []).append(f"{P}instance_{key}_total{me}{value}")
    for key in sorted(extras):
        lines[f"instance_{key}_total"] = extras[key]
    out = []
    families = [*INSTANCE_FAMILIES, *((f"instance_{key}_total", "counter", f"Feature counter {key}.")
                                      for key in sorted(extras))]
    for name, kind, text in families:
        out.append(f"# HELP {P}{name} {text}\n# TYPE {P}{name} {kind}\n")
        samples = lines[name]
        if samples:
            out.append("\n".join(samples))
            out.append("\n")
    return "".join(out)


class FleetCollector:
    """prometheus-client's custom collector: the fleet-wide families of one snapshot."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from self._fleet()

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
    registry.register(FleetCollector(snapshot))
    ProcessCollector(registry=registry)
    return write_instances(snapshot).encode() + generate_latest(registry)
