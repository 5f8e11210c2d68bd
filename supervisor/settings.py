"""Supervisor-wide settings: from command-line flags, else the daemon's environment, else defaults.

These are the daemon's own settings, resolved in one place (`SupervisorSettings.from_sources`): a flag wins, else
`SUPERVISOR_<FLAG>` (e.g. SUPERVISOR_STATE_DIR for --state-dir), else the name documented before that rule
(DATABASE_URL, DISCORD_API_BASE_URL, MCP_LISTEN, STATE_DIRECTORY...), else the default. Instance settings never
come from the process environment.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_INSTANCES = "./instances"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("auto", "json", "console")


class SettingsError(ValueError):
    """A daemon setting from the environment that cannot be used (the message names the variable)."""


def _first_path(value: str) -> str:
    return value.split(":")[0]  # systemd's StateDirectory=/RuntimeDirectory= may list several, colon-separated


@dataclass(frozen=True)
class Source:
    """Where one setting comes from: its flag's dest, then these environment names in order, then a default."""

    env: tuple[str, ...] = ()
    default: Any = None
    parse: Callable[[str, str], Any] | None = None  # (variable name, text) -> value; raises SettingsError


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a number") from None


def _choice(options: tuple[str, ...], transform: Callable[[str], str]) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        value = transform(text)
        if value not in options:
            raise SettingsError(f"{name}={text!r}: expected one of {', '.join(options)}")
        return value
    return parse


def parse_workers(name: str, text: str) -> int:
    """`--workers`/SUPERVISOR_WORKERS: a count of at least 1, or `auto` (one per core this process may use)."""
    if text.strip().lower() == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    try:
        count = int(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected a number of worker processes or 'auto'") from None
    if count < 1:
        raise SettingsError(f"{name}={text!r}: at least 1 worker")
    return count


def _flag(name: str, text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SupervisorSettings:
    instances_dir: Path
    database_url: str | None = field(repr=False)  # the fallback for instances whose .env sets none
    api_base_url: str | None = None
    gateway_url: str | None = None
    sandbox: bool = False  # every folder runs, with an invented token, against the in-process emulator
    finnhub_url: str | None = None  # stock quotes' base URL (a local stand-in in tests and the sandbox)
    ca_file: str | None = None  # extra CA certificate(s) every bot trusts (the emulator's, for its wss voice)
    nyt_url: str | None = None  # Wordle and Connections puzzles' base URL (likewise)
    state_dir: Path = Path("var")
    control_socket: Path | None = None  # None: the default path (see supervisor.daemon.control)
    log_level: str = "INFO"
    log_format: str = "auto"
    mcp_listen: str | None = None
    mcp_auth_token: str | None = field(default=None, repr=False)
    http_listen: str | None = None  # the console and /metrics (and /mcp); SUPERVISOR_HTTP_LISTEN
    http_token: str | None = field(default=None, repr=False)  # SUPERVISOR_HTTP_TOKEN (an environment value only)
    shutdown_timeout: float = 10.0
    guild_ready_timeout: float = 2.0
    backoff_first: float = 1.0
    discord_defaults: bool = False
    stall_threshold_ms: float = 250.0
    watch: bool = True
    capacity: float = 1.0  # this daemon's share of the instances among the daemons on the same databases
    standby: bool = False  # take an instance only when no daemon without --standby has it
    fleet_schema: str = "discord_supervisor"  # the schema of the fleet tables in each database
    workers: int = 1  # daemon processes on this host under one parent (supervisor/daemon/workers.py)

    @classmethod
    def from_sources(cls, args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None,
                     **flags: Any) -> SupervisorSettings:
        """Every daemon setting: the flag in `args`, else SUPERVISOR_<FLAG>, else its documented name, else default.

        `flags` stand for flags given by keyword (`from_sources(finnhub_url=...)`, the older call). Raises
        SettingsError for an environment value that cannot be used (flags are checked by argparse).
        """
        env = os.environ if environ is None else environ
        given = {**(vars(args) if args is not None else {}), **flags}
        values: dict[str, Any] = {}
        for name, source in SOURCES.items():
            flag = given.get(name)
            if flag is not None and flag is not False:
                values[name] = flag
                continue
            for variable in (f"SUPERVISOR_{name.upper()}", *source.env):
                text = env.get(variable)
                if text:
                    values[name] = source.parse(variable, text) if source.parse else text
                    break
            else:
                values[name] = source.default
        values["watch"] = not values.pop("no_watch")
        values["instances_dir"] = Path(values.pop("instances"))
        values["state_dir"] = Path(_first_path(str(values["state_dir"])))
        values["control_socket"] = _control_socket(values["control_socket"], env)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def upstreams(self) -> dict[str, str]:
        """Supervisor-wide settings features read with `ctx.supervisor_setting(key)`."""
        found = {"finnhub_url": self.finnhub_url, "nyt_url": self.nyt_url}
        return {key: value for key, value in found.items() if value}

    def socket_path(self) -> Path:
        """The control socket: the one chosen, else the default for this environment."""
        return self.control_socket if self.control_socket is not None else _control_socket(None, os.environ)


def _control_socket(chosen: str | Path | None, env: Mapping[str, str]) -> Path:
    from supervisor.daemon.control import default_socket_path

    return Path(chosen) if chosen else default_socket_path(env)


# Each setting's name is its flag's argparse dest; SUPERVISOR_<NAME> is always read first, then `env`.
SOURCES: dict[str, Source] = {
    "instances": Source(default=DEFAULT_INSTANCES),
    "database_url": Source(env=("DATABASE_URL",)),
    "api_base_url": Source(env=("DISCORD_API_BASE_URL",)),
    "gateway_url": Source(env=("DISCORD_GATEWAY_URL",)),
    "finnhub_url": Source(env=("FINNHUB_BASE_URL",)),
    "ca_file": Source(env=("DISCORD_CA_FILE",)),
    "nyt_url": Source(env=("NYT_BASE_URL",)),
    "state_dir": Source(env=("STATE_DIRECTORY",), default="var", parse=lambda _name, text: _first_path(text)),
    "control_socket": Source(),  # its default depends on RUNTIME_DIRECTORY / XDG_RUNTIME_DIR: _control_socket
    "log_level": Source(default="INFO", parse=_choice(LOG_LEVELS, str.upper)),
    "log_format": Source(default="auto", parse=_choice(LOG_FORMATS, str.lower)),
    "mcp_listen": Source(env=("MCP_LISTEN",)),
    "mcp_auth_token": Source(env=("MCP_AUTH_TOKEN",)),
    "http_listen": Source(),
    "http_token": Source(),
    "shutdown_timeout": Source(default=10.0, parse=_number),
    "guild_ready_timeout": Source(default=2.0, parse=_number),
    "backoff_first": Source(default=1.0, parse=_number),
    "discord_defaults": Source(default=False, parse=_flag),
    "stall_threshold_ms": Source(default=250.0, parse=_number),
    "no_watch": Source(default=False, parse=_flag),
    "capacity": Source(default=1.0, parse=_number),
    "standby": Source(default=False, parse=_flag),
    "fleet_schema": Source(default="discord_supervisor"),
    "workers": Source(default=1, parse=parse_workers),
}
