"""Plain counters of one instance, read by /metrics at scrape time (nothing is computed per event but `+= 1`).

They live on the instance's runner, so they survive its restarts (a Prometheus counter only ever increases), and
reach code that is shared by every instance (the AI client, the quote cache) through a context variable that is
set in the context every task of the instance inherits.
"""

from __future__ import annotations

import contextvars
import re
from collections import Counter
from dataclasses import dataclass, field

# Names a feature may count under (`supervisor.sdk.count`): they become metric names, so they are checked.
COUNTER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
MAX_EXTRA_COUNTERS = 32  # a bound on label cardinality even if a feature misbehaves


@dataclass
class InstanceCounters:
    events: Counter[str] = field(default_factory=Counter)  # discord.py event name -> dispatched
    commands: int = 0
    command_failures: int = 0
    replies: int = 0  # messages and interaction responses the bot sent
    rest_calls: int = 0
    rest_429: int = 0
    ai_requests: int = 0
    ai_tokens: int = 0
    extra: Counter[str] = field(default_factory=Counter)  # feature counters such as quote_cache_hits

    def count(self, name: str, amount: int = 1) -> None:
        if name in self.extra or (len(self.extra) < MAX_EXTRA_COUNTERS and COUNTER_NAME.match(name)):
            self.extra[name] += amount


current_counters: contextvars.ContextVar[InstanceCounters | None] = contextvars.ContextVar(
    "current_counters", default=None)


def count(name: str, amount: int = 1) -> None:
    """Count `name` for the instance whose task runs this (nothing outside an instance's tasks)."""
    counters = current_counters.get()
    if counters is not None:
        counters.count(name, amount)


def count_ai(tokens: int) -> None:
    counters = current_counters.get()
    if counters is not None:
        counters.ai_requests += 1
        counters.ai_tokens += tokens
