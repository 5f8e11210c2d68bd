"""Injected 429s and failures, matched against a request's method and API path."""

from __future__ import annotations

import re
from dataclasses import dataclass


def compile_route(pattern: str) -> re.Pattern[str]:
    """'/channels/{channel_id}/messages' matches any id in the braces; a literal path matches itself."""
    pattern = "/" + pattern.strip("/")
    parts = re.split(r"(\{[^/{}]+\})", pattern)
    body = "".join(_placeholder(p[1:-1]) if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}/?$")


def _placeholder(name: str) -> str:
    # Named so the REST router can read path parameters straight from the match.
    return f"(?P<{name}>[^/]+)" if name.isidentifier() else "[^/]+"


@dataclass
class Fault:
    method: str
    route: re.Pattern[str]
    remaining: int
    status: int
    retry_after: float = 0.0
    is_global: bool = False
    code: int = 0
    message: str = ""

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method) and bool(self.route.match(path))


class FaultPlan:
    """Rules consumed first-come: each matching request uses up one `times`."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.rules:
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.rules.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.rules.clear()
