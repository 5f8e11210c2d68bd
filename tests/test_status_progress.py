"""`status` during a long start says how far it got; once nothing is starting it says nothing more."""

from __future__ import annotations

import io
import time

from supervisor.commands.control_client import render_status


def item(name: str, state: str) -> dict[str, object]:
    return {"name": name, "state": state, "since": time.time(), "restarts": 0, "guilds": None, "latency_ms": None,
            "rejected": None, "last_error": None, "last_reload": None}


def test_a_start_under_way_is_summed_up_below_the_table() -> None:
    out = io.StringIO()
    render_status([item("a", "running"), item("b", "running"), item("c", "starting")], out)
    assert out.getvalue().splitlines()[-1] == "start under way: 2 of 3 running, 1 starting"


def test_no_summary_once_every_instance_has_started() -> None:
    out = io.StringIO()
    render_status([item("a", "running"), item("b", "backoff")], out)
    assert "start under way" not in out.getvalue()
    assert len(out.getvalue().splitlines()) == 3


def test_a_start_says_which_step_its_instances_are_at() -> None:
    out = io.StringIO()
    migrating = item("b", "starting") | {"phase": "migrating"}
    waiting = [item(name, "starting") | {"phase": "waiting to migrate"} for name in ("c", "d")]
    render_status([item("a", "running"), migrating, *waiting], out)
    lines = out.getvalue().splitlines()
    assert lines[-1] == "start under way: 1 of 4 running, 3 starting (1 migrating, 2 waiting to migrate)"
    assert lines[2].rstrip().endswith("migrating")  # b's row: its step where an error would be
