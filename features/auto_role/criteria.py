"""Who qualifies for promotion, read live from `[auto_role]`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from supervisor.sdk import parse_duration


@dataclass(frozen=True)
class Rule:
    from_role: int
    to_role: int
    min_age_seconds: int
    min_messages: int
    require_all: bool

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Rule:
        min_age = parse_duration(settings["min_age"])
        assert min_age is not None, "validated when config.toml was loaded"
        return cls(int(settings["from_role"]), int(settings["to_role"]), min_age, settings["min_messages"],
                   settings["require_all"])

    def qualifies(self, *, member_since: dt.datetime | None, messages: int, now: dt.datetime) -> bool:
        age_ok = member_since is not None and (now - member_since).total_seconds() >= self.min_age_seconds
        messages_ok = messages >= self.min_messages
        return (age_ok and messages_ok) if self.require_all else (age_ok or messages_ok)


def member_since(joined_at: dt.datetime | None, first_seen: dt.datetime | None) -> dt.datetime | None:
    """The join time Discord reports; else the earliest the database knows (rows discord-bot-rs wrote hold the
    member's first message)."""
    known = [t for t in (joined_at, first_seen) if t is not None]
    return min(known) if known else None
