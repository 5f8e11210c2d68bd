"""An instance's lifecycle state, as `status` shows it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Phase(StrEnum):
    """The steps of a start, in order (status shows the phase of each instance still starting)."""

    LEASE = "taking its lease"
    SCHEMA = "checking its schema"
    MIGRATION_WAIT = "waiting to migrate"
    MIGRATING = "migrating"
    LOGIN_WAIT = "waiting to log in"
    LOGGING_IN = "logging in"


class State(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RELOADING = "reloading"
    BACKOFF = "backoff"
    ELSEWHERE = "running elsewhere"  # another daemon holds its lease; this one takes over when that one ends
    FAILED = "failed"
    STOPPED = "stopped"
    INVALID = "invalid"
    NOT_CONFIGURED = "not configured"


HISTORY = 50  # state changes kept for the console's instance page


@dataclass
class InstanceStatus:
    name: str
    state: State = State.STARTING
    since: float = field(default_factory=time.time)
    restarts: int = 0
    last_error: str | None = None
    rejected: str | None = None  # a config edit that did not validate or load; it runs on its last good one
    last_reload: str | None = None  # what the last edit did: "applied live", "restarted: <why>", "rejected: <why>"
    # (when, state, error) of each change, newest last; and the errors alone (the console's instance page)
    history: deque[tuple[float, str, str | None]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    errors: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    on_change: Callable[[str], None] | None = None  # the fleet's: the console's live table hears of it at once
    # Where a start is (a Phase below): a cold start of thousands spends minutes migrating, and `status` and
    # the log's start_progress say how many are at which step. Only meaningful while STARTING.
    phase: str | None = None

    def enter(self, state: State, error: str | None = None) -> None:
        changed = state is not self.state or not self.history
        if state is not self.state:
            if {state, self.state} != {State.RUNNING, State.RELOADING}:  # a live reload is no new start
                self.since = time.time()
            self.state = state
        if error is not None:
            changed = changed or error != self.last_error
            self.last_error = error
            self.errors.append((time.time(), error))
        if changed:
            self.history.append((time.time(), str(state), error))
            if self.on_change is not None:
                self.on_change(self.name)

    def as_dict(self, guilds: int | None = None, latency_ms: float | None = None,
                warnings: dict[str, str] | None = None) -> dict[str, object]:
        return {
            "name": self.name, "state": str(self.state), "since": self.since, "restarts": self.restarts,
            "guilds": guilds, "latency_ms": latency_ms, "last_error": self.last_error, "rejected": self.rejected,
            "last_reload": self.last_reload,
            "warnings": warnings or {},
            "phase": self.phase if self.state is State.STARTING else None,
        }
