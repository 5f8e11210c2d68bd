"""`.env` keys nothing here reads: a warning that names each one (in `check` and the daemon's log), never an error.

A discord-bot-rs `.env` carries keys for its own process (CONFIG_DIR, RUST_LOG); a typo (DISCORD_TOKNE) would
otherwise be silently ignored. A key counts as used when the supervisor reads it, a feature declares it (whether
that feature is on or not), or config.toml names it (an `[ai.providers.<name>] api_key_env`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor import registry
from supervisor.problems import Problem

if TYPE_CHECKING:
    from supervisor.config import InstanceConfig
    from supervisor.envfile import InstanceEnv

# discord-bot-rs's own keys with no meaning in a shared process, and what to do instead.
ORIGINAL_ONLY = {
    "CONFIG_DIR": "not used: the instance's folder is its config directory",
    "RUST_LOG": "not used: the daemon's log level is `run --log-level` (or SUPERVISOR_LOG_LEVEL)",
}


def used_keys(config: InstanceConfig) -> set[str]:
    from supervisor.envfile import KNOWN_KEYS

    used = set(KNOWN_KEYS) | set(config.env_names)
    for feature in registry.features().values():
        used |= set(feature.env)
    return used


def unused_key_warnings(label: str, config: InstanceConfig, env: InstanceEnv) -> list[Problem]:
    used = used_keys(config)
    warnings = []
    for key in sorted(env.keys - used):
        message = ORIGINAL_ONLY.get(key, "not used by any feature of discord-supervisor (a typo?); ignored")
        warnings.append(Problem(f"{label}/.env", key, message))
    return warnings
