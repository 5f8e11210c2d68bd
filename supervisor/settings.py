"""Supervisor-wide settings: from command-line flags, else the daemon's environment, else defaults.

These are the daemon's own settings. Instance settings never come from the process environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_INSTANCES = "./instances"


@dataclass(frozen=True)
class SupervisorSettings:
    instances_dir: Path
    database_url: str | None = field(repr=False)  # the fallback for instances whose .env sets none
    api_base_url: str | None = None
    gateway_url: str | None = None
    sandbox: bool = False  # every folder runs, with an invented token, against the in-process emulator
    finnhub_url: str | None = None  # stock quotes' base URL (a local stand-in in tests and the sandbox)
    ca_file: str | None = None  # extra CA certificate(s) every bot trusts (the emulator's, for its wss voice)

    @classmethod
    def from_sources(
        cls,
        instances: str | None = None,
        api_base_url: str | None = None,
        gateway_url: str | None = None,
        finnhub_url: str | None = None,
        ca_file: str | None = None,
    ) -> SupervisorSettings:
        env = os.environ
        return cls(
            instances_dir=Path(instances or env.get("SUPERVISOR_INSTANCES") or DEFAULT_INSTANCES),
            database_url=env.get("DATABASE_URL") or None,
            api_base_url=api_base_url or env.get("DISCORD_API_BASE_URL") or None,
            gateway_url=gateway_url or env.get("DISCORD_GATEWAY_URL") or None,
            finnhub_url=finnhub_url or env.get("FINNHUB_BASE_URL") or None,
            ca_file=ca_file or env.get("DISCORD_CA_FILE") or None,
        )

    def upstreams(self) -> dict[str, str]:
        """Supervisor-wide settings features read with `ctx.supervisor_setting(key)`."""
        return {"finnhub_url": self.finnhub_url} if self.finnhub_url else {}
