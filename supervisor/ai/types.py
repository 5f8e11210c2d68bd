"""What a provider call returns or raises; light, so declarations and the kit import it without the SDKs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]  # OpenAI chat shape


class ProviderError(Exception):
    """A provider call failed. `reason` is safe to log: never the key, never the upstream body."""

    def __init__(self, provider: str, reason: str):
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason


class Censored(ProviderError):
    """The provider refused the content ("Content Exists Risk"): the only error that walks the cascade."""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Completion:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    provider: str = ""
    raw_tool_calls: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)  # OpenAI shape, for history
    tokens: int = 0  # prompt and completion tokens, as the provider reported them (for /metrics)
