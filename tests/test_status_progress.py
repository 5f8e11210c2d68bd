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
