"""What the console shows, copied from the daemon on the event loop as plain values (rendered elsewhere)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from supervisor.daemon.status import State
from supervisor.dburl import redact_url

if TYPE_CHECKING:
    from supervisor.daemon.fleet import Fleet
    from supervisor.daemon.runner import InstanceRunner
    from supervisor.instances import InstanceSpec

HIDDEN = "***"
# A value under such a key is shown as ***. Headers too: an AI provider's extra headers may carry a key.
_SECRET_KEY = re.compile(r"token(?!s)|secret|key|password|passwd|webhook|auth|header|cookie", re.IGNORECASE)
CHUNK = 100  # instances read between two yields to the event loop


class Slices:
    """The longest stretch a request held the event loop without yielding (its Server-Timing `loop`)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._since = time.perf_counter()

    async def pause(self) -> None:
        self.end()
        await asyncio.sleep(0)
        self._since = time.perf_counter()

    def end(self) -> float:
        self.longest = max(self.longest, time.perf_counter() - self._since)
        return self.longest


async def statuses(fleet: Fleet, names: set[str] | None = None,
                   slices: Slices | None = None) -> AsyncIterator[dict[str, Any]]:
    """Each instance's status, yielding to the event loop every CHUNK instances: a page or a scrape of 1,000
    instances never holds the loop (and every bot on it) for the whole fleet at once."""
    wanted = fleet.names() if names is None else sorted(names)
    slices = slices or Slices()
    for index, name in enumerate(wanted):
        if index and index % CHUNK == 0:
            await slices.pause()
        status = fleet.status_of(name)
        if status is not None:
            yield status


def _features(spec: InstanceSpec | None) -> str:
    return " ".join(spec.config.enabled_features()) if spec is not None else ""


def where(runner: InstanceRunner | None, here: tuple[str, int]) -> tuple[str, int | None]:
    """(host, pid) of the daemon that runs the instance, as the hosts layer knows it; ("", None) when none does."""
    if runner is None:
        return "", None
    holder = runner.elsewhere if runner.status.state is State.ELSEWHERE else None
    if holder is None:
        return here
    if holder.host is not None:
        return holder.host, holder.pid
    return holder.address or "another daemon", None


def host_text(host: str, pid: int | None) -> str:
    return f"{host} (pid {pid})" if host and pid is not None else host


async def rows(fleet: Fleet, names: set[str] | None = None, slices: Slices | None = None) -> list[dict[str, Any]]:
    """The fleet table's rows (every instance, or those of `names` that still exist)."""
    here = (socket.gethostname(), os.getpid())
    result = []
    async for status in statuses(fleet, names, slices):
        name = str(status["name"])
        runner = fleet.runners.get(name)
        report = fleet.reports.get(name)
        spec = runner.spec if runner is not None else (report.spec if report is not None else None)
        host, pid = where(runner, here)
        error = status.get("rejected") or status.get("last_error")
        result.append({
            "name": name, "state": status["state"], "since": status["since"], "guilds": status.get("guilds"),
            "latency_ms": status.get("latency_ms"), "restarts": status["restarts"],
            "last_error": str(error)[:300] if error else "", "features": _features(spec),
            "host": host_text(host, pid),
        })
    return result


def problems(fleet: Fleet) -> list[str]:
    """What `check` says about every folder that has something to say, as its lines."""
    lines = []
    for name, report in sorted(fleet.reports.items()):
        for problem in report.problems:
            lines.append(f"{name}: {report.status}: {problem}")
        for warning in report.warnings:
            lines.append(f"{name}: warning: {warning}")
    for name, hint in sorted(fleet._hints.items()):
        lines.append(f"{name}: {hint}")
    return lines


def problems_of(fleet: Fleet, name: str) -> list[str]:
    """problems(), of one folder only (without a pass over the fleet)."""
    report = fleet.reports.get(name)
    lines = []
    if report is not None:
        lines += [f"{name}: {report.status}: {problem}" for problem in report.problems]
        lines += [f"{name}: warning: {warning}" for warning in report.warnings]
    hint = fleet._hints.get(name)
    if hint is not None:
        lines.append(f"{name}: {hint}")
    return lines


def sparkline(values: list[float], width: int = 240, height: int = 40) -> str:
    """SVG polyline points for the latency samples ('' when there are fewer than two)."""
    if len(values) < 2:
        return ""
    top = max(values) or 1.0
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - (v / top) * (height - 2) - 1:.1f}" for i, v in enumerate(values))


async def detail(fleet: Fleet, name: str, latencies: list[float]) -> dict[str, Any] | None:
    """What the instance page shows but its log lines (None: no such instance now), as plain values: the page's
    first rendering and each live update of it are the same data."""
    found = await rows(fleet, {name})
    if not found:
        return None
    runner = fleet.runners.get(name)
    report = fleet.reports.get(name)
    spec = runner.spec if runner is not None else (report.spec if report is not None else None)
    status = runner.status if runner is not None else None
    warnings = runner.ctx.warnings if runner is not None and runner.ctx is not None else {}
    return {
        "row": found[0],
        "history": [list(entry) for entry in reversed(status.history)] if status else [],
        "errors": [list(entry) for entry in reversed(status.errors)] if status else [],
        "warnings": [list(item) for item in sorted(warnings.items())],
        "config": [list(item) for item in config_view(spec)],
        "problems": problems_of(fleet, name),
        "sparkline": sparkline(latencies),
        "paused": name in fleet.paused,
    }


def plain(value: Any) -> Any:
    """A parsed setting as plain dicts and lists (a feature's config dataclass included), so that masked() sees
    every key in it: the repr of an object would show its fields, secrets and all."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def masked(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key):
        return HIDDEN if value not in (None, "", False) and value != {} else value
    if isinstance(value, dict):
        return {k: masked(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(key, v) for v in value]  # a list of tables: each table's own keys
    return value


def config_view(spec: InstanceSpec | None) -> list[tuple[str, str]]:
    """The instance's config as the daemon sees it, every secret shown as ***."""
    if spec is None:
        return []
    config = spec.config
    view: list[tuple[str, str]] = [
        ("bot_name", repr(config.bot_name)), ("command_prefix", repr(config.command_prefix)),
        ("command_root", repr(config.command_root)), ("timezone", repr(config.timezone)),
        ("features", ", ".join(config.enabled_features())), ("pool_max_size", str(config.pool_max_size)),
        ("command_timeout", str(config.command_timeout)), ("schema", spec.schema),
    ]
    for feature, settings in sorted(config.settings.items()):
        for key, value in sorted(settings.items()):
            view.append((f"[{feature}] {key}", repr(masked(key, plain(value)))))
    env = spec.env
    view.append((".env DISCORD_TOKEN", HIDDEN))
    view.append((".env DATABASE_URL", "*** (set)" if env.database_url else "(the supervisor's)"))
    view.append(("database", redact_url(spec.database_url).replace(":***@", "@") if spec.database_url else
                 "the bundled PostgreSQL"))
    for key in sorted(env.secrets):
        view.append((f".env {key}", HIDDEN))
    return view
