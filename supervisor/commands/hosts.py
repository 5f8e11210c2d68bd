"""`drain`, `undrain` and `status --fleet`: many daemons on one database (docs/standby.md)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

from supervisor.commands.control_client import ask_ok
from supervisor.text import format_duration

DRAIN_POLL_SECONDS = 0.5


def drain(socket_path: Path, timeout: float, out: TextIO = sys.stdout) -> int:
    """Hand every instance of the daemon to the others; wait until they run elsewhere."""
    deadline = time.monotonic() + timeout
    said: tuple[str, ...] | None = None
    while True:
        answer = ask_ok(socket_path, {"command": "drain"})
        if answer is None:
            return 1
        held, kept = answer["held"], answer["kept"]
        movable = [name for name in held if name not in kept]
        if not movable:
            break
        if tuple(movable) != said:
            said = tuple(movable)
            print(f"handing over {len(movable)} instance(s): {', '.join(movable)}", file=out)
        if time.monotonic() > deadline:
            print(f"error: still here after {timeout:g} s: {', '.join(movable)}", file=sys.stderr)
            return 1
        time.sleep(DRAIN_POLL_SECONDS)
    if kept:
        print(f"error: no other daemon has these, they still run here: {', '.join(kept)}", file=sys.stderr)
        return 1
    print("drained: every instance runs on another daemon; this one takes none until `undrain`", file=out)
    return 0


def undrain(socket_path: Path, out: TextIO = sys.stdout) -> int:
    answer = ask_ok(socket_path, {"command": "undrain"})
    if answer is None:
        return 1
    print("undrained: this daemon takes its share back, one instance at a time", file=out)
    return 0


def fleet(socket_path: Path, as_json: bool, out: TextIO = sys.stdout) -> int:
    answer = ask_ok(socket_path, {"command": "fleet"})
    if answer is None:
        return 1
    rows = answer["instances"]
    if as_json:
        import json

        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    render_fleet(rows, out)
    return 0


def _daemon_note(row: dict[str, Any]) -> str:
    if not row["live"]:
        return f"gone (last heartbeat {format_duration(row['age'])} ago)"
    notes = [note for note, on in (("draining", row["draining"]), ("standby", row["standby"]),
                                   ("this daemon", row.get("this_daemon"))) if on]
    return ", ".join(notes)


def render_fleet(rows: list[dict[str, Any]], out: TextIO) -> None:
    headers = ["INSTANCE", "HOST", "PID", "STATE", "SINCE", "DAEMON"]
    now = time.time()
    table = []
    for row in rows:
        since = "-" if row["since"] is None else format_duration(now - row["since"]) + " ago"
        state = row["state"] or "-"
        if row["state"] and row["held"] and row["state"] != "running":
            state += " (holds the lease)"
        table.append([row["name"] or "-", row["host"], str(row["pid"]), state, since, _daemon_note(row)])
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(headers)]
    for line in [headers, *table]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip(), file=out)
