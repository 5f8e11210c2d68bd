"""The settings a live edit cannot apply to a connected bot: changing one restarts that instance alone."""

from __future__ import annotations

from collections.abc import Callable

from supervisor.instances import InstanceSpec

# (what the user edited, how to read it from a spec). A new pool or a new gateway session is the only way.
RESTART_FIELDS: tuple[tuple[str, Callable[[InstanceSpec], object]], ...] = (
    ("DISCORD_TOKEN", lambda spec: spec.env.token),
    ("DATABASE_URL", lambda spec: spec.database_url),
    ("DB_SCHEMA", lambda spec: spec.schema),
    ("[database] pool_max_size", lambda spec: spec.config.pool_max_size),
    ("MCP_PORT, MCP_BIND_ADDR or MCP_AUTH_TOKEN", lambda spec: spec.env.mcp),  # its own listener, rebound
)


def restart_reasons(old: InstanceSpec, new: InstanceSpec, missing_intents: list[str]) -> list[str]:
    """Why `new` needs a restart rather than a live apply; empty when it can apply live. Never shows values."""
    reasons = [f"{label} changed" for label, read in RESTART_FIELDS if read(old) != read(new)]
    if missing_intents:
        reasons.append(f"a newly enabled feature needs the gateway intent(s) {', '.join(missing_intents)}")
    return reasons
