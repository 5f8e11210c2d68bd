"""Instance discovery and validation: which folders are bots, and is each one fit to run."""

from __future__ import annotations

import os
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from supervisor import registry
from supervisor.config import CONFIG_FILE, InstanceConfig, load_config
from supervisor.dburl import database_identity
from supervisor.envfile import ENV_FILE, InstanceEnv, load_env
from supervisor.problems import Problem
from supervisor.unused_keys import unused_key_warnings

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TEMP_SUFFIXES = ("~", ".swp", ".swx", ".tmp", ".bak", ".orig", ".part")


class Status(StrEnum):
    OK = "ok"
    NOT_CONFIGURED = "not configured"
    INVALID = "invalid"


@dataclass(frozen=True)
class InstanceSpec:
    """Everything needed to run one instance, validated."""

    name: str
    folder: Path
    config: InstanceConfig
    env: InstanceEnv
    # resolved: the instance's own, else the supervisor's; None = bundled. Never in a repr: it may hold a password.
    database_url: str | None = field(repr=False)

    @property
    def schema(self) -> str:
        return self.env.schema


@dataclass
class InstanceReport:
    name: str
    folder: Path
    status: Status
    schema: str | None = None
    problems: list[Problem] = field(default_factory=list)
    spec: InstanceSpec | None = None
    warnings: list[Problem] = field(default_factory=list)  # the instance runs; `check` shows them
    config: InstanceConfig | None = None  # also for a folder without .env: `check` lists what it will need

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "folder": str(self.folder),
            "status": str(self.status),
            "schema": self.schema,
            "problems": [p.as_dict() for p in self.problems],
            "warnings": [p.as_dict() for p in self.warnings],
        }


def is_instance_folder(path: Path) -> bool:
    name = path.name
    if name.startswith((".", "#")) or name.endswith(_TEMP_SUFFIXES):
        return False
    # Anything named config.toml makes a bot folder: a directory or a pipe there is that bot's problem to report.
    return path.is_dir() and (path / CONFIG_FILE).exists()


def discover(instances_dir: Path) -> list[Path]:
    """Instance folders under `instances_dir`, sorted by name."""
    if not instances_dir.is_dir():
        return []
    return sorted(p for p in instances_dir.iterdir() if is_instance_folder(p))


def load_instance(folder: Path, supervisor_database_url: str | None, *, sandbox: bool = False) -> InstanceReport:
    name = folder.name
    label = name
    if not NAME_PATTERN.match(name):
        problem = Problem(
            label, "name",
            f"folder name {name!r} is not a valid instance name: use 1-63 lowercase letters, digits, - or _, "
            "starting with a letter or digit",
        )
        return InstanceReport(name, folder, Status.INVALID, problems=[problem])

    config, problems = load_config(folder, label)
    if not sandbox and not os.path.lexists(folder / ENV_FILE):
        status = Status.INVALID if problems else Status.NOT_CONFIGURED
        return InstanceReport(name, folder, status, problems=problems, config=config)

    env, env_problems = load_env(folder, label, name, sandbox=sandbox)
    problems += env_problems
    schema = env.schema if env else None
    if problems or config is None or env is None:
        return InstanceReport(name, folder, Status.INVALID, schema, problems, config=config)
    spec = InstanceSpec(name, folder, config, env, env.database_url or supervisor_database_url)
    warnings = [*config.warnings, *_env_warnings(label, config, env), *unused_key_warnings(label, config, env)]
    if env.mcp is not None and env.mcp.refused:
        warnings.append(Problem(f"{label}/{ENV_FILE}", "MCP_BIND_ADDR", env.mcp.refused))
    return InstanceReport(name, folder, Status.OK, schema, [], spec, warnings, config)


def _env_warnings(label: str, config: InstanceConfig, env: InstanceEnv) -> list[Problem]:
    """Warnings a feature can only give knowing `.env`: a provider routed to whose key is not set."""
    warnings = []
    for feature in registry.enabled_features(config):  # a key missing for a feature that is on: it cannot work
        for key, declared in feature.env.items():
            if declared.missing and not env.secrets.get(key):
                warnings.append(Problem(f"{label}/{ENV_FILE}", key, f"{declared.missing} (feature {feature.name!r})"))
    for name, feature in registry.features().items():
        if feature.env_warnings is None or name not in config.settings:
            continue
        if feature.table is None and not config.features.get(name):
            continue  # its own table, and it is off: nothing of it runs (a shared table like [ai] still counts)
        for key, message in feature.env_warnings(config.settings[name], env.secrets):
            warnings.append(Problem(f"{label}/{CONFIG_FILE}", f"{feature.table_name}.{key}", message))
    return warnings


RuleKey = tuple[str, Hashable]  # (the .env field at fault, the value no two instances may share)


def rule_keys(spec: InstanceSpec) -> tuple[RuleKey, ...]:
    """What no other instance may share: a schema on one database, the token, and an MCP_PORT."""
    keys: tuple[RuleKey, ...] = (("DB_SCHEMA", (database_identity(spec.database_url), spec.schema)),
                                 ("DISCORD_TOKEN", spec.env.token))
    if spec.env.mcp is not None and spec.env.mcp.refused is None:
        keys += (("MCP_PORT", spec.env.mcp.port),)
    return keys


def conflict_problem(name: str, spec: InstanceSpec, key_field: str, other: str) -> Problem:
    if key_field == "DB_SCHEMA":
        text = (f"schema {spec.schema!r} is also used by instance {other!r}: give each its own, e.g. "
                f"DB_SCHEMA={name} in this one's .env")
    elif key_field == "MCP_PORT":
        text = f"MCP_PORT {spec.env.mcp.port if spec.env.mcp else ''} is also used by instance {other!r}"
    else:
        text = f"the same token is also used by instance {other!r}"
    return Problem(f"{name}/{ENV_FILE}", key_field, text)


def load_all(instances_dir: Path, supervisor_database_url: str | None, *, sandbox: bool = False
             ) -> list[InstanceReport]:
    """Every instance folder, each validated alone (fleet_index applies the rules between them). In the
    sandbox every folder is configured, with an invented token."""
    return [load_instance(f, supervisor_database_url, sandbox=sandbox) for f in discover(instances_dir)]
