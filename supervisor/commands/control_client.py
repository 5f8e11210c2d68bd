"""`status`, `reload` and `restart`: talk to a running daemon over its control socket."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from supervisor.daemon.control import ControlUnavailable, request
from supervisor.text import format_duration


def _ask(socket_path: Path, payload: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return asyncio.run(request(socket_path, payload))
    except ControlUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def render_status(instances: list[dict[str, Any]], out: TextIO) -> None:
    headers = ["INSTANCE", "STATE", "SINCE", "RESTARTS", "GUILDS", "LATENCY", "LAST ERROR / REJECTED CONFIG"]
    rows = []
    now = time.time()
    for item in instances:
        note = f"config rejected: {item['rejected']}" if item.get("rejected") else (item.get("last_error") or "")
        if not note and item["state"] == "starting" and item.get("phase"):
            note = str(item["phase"])  # a long start: which step this one is at
        if not note and str(item.get("last_reload") or "").startswith("restarted"):
            note = f"config edit {item['last_reload']}"  # "config edit restarted: DB_SCHEMA changed"
        warnings = item.get("warnings") or {}
        if warnings:  # a feature that cannot work (stocks without FINNHUB_API_KEY): not only in --json
            note = "; ".join([*([note] if note else []), *(f"warning: {text}" for text in warnings.values())])
        rows.append([
            item["name"], item["state"], format_duration(now - item["since"]) + " ago", str(item["restarts"]),
            "-" if item["guilds"] is None else str(item["guilds"]),
            "-" if item["latency_ms"] is None else f"{item['latency_ms']:.0f} ms",
            note,
        ])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    if any("worker" in item for item in instances):  # `run --workers N`: which worker runs it
        headers.insert(2, "WORKER")
        for row, item in zip(rows, instances, strict=True):
            row.insert(2, "-" if item.get("worker") is None else str(item["worker"]))
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1], file=out)
    starting = sum(1 for item in instances if item["state"] == "starting")
    if starting:  # a start of thousands takes minutes: how far it got
        running = sum(1 for item in instances if item["state"] == "running")
        phases = Counter(str(item["phase"]) for item in instances if item["state"] == "starting" and item.get("phase"))
        steps = f" ({', '.join(f'{n} {phase}' for phase, n in phases.items())})" if phases else ""
        print(f"start under way: {running} of {len(instances)} running, {starting} starting{steps}", file=out)


def status(socket_path: Path, as_json: bool, out: TextIO = sys.stdout) -> int:
    answer = _ask(socket_path, {"command": "status"})
    if answer is None:
        return 1
    if as_json:
        json.dump(answer["instances"], out, indent=2)
        out.write("\n")
    else:
        render_status(answer["instances"], out)
    return 0


def ask_ok(socket_path: Path, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The daemon's answer when it accepted the request; else None, having said why on stderr."""
    answer = _ask(socket_path, payload)
    if answer is None:
        return None
    if not answer.get("ok"):
        print(f"error: {answer.get('error', 'the daemon refused')}", file=sys.stderr)
        return None
    return answer


def act(socket_path: Path, payload: dict[str, Any], done: str, out: TextIO = sys.stdout) -> int:
    if ask_ok(socket_path, payload) is None:
        return 1
    print(done, file=out)
    return 0
