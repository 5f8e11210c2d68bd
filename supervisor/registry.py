"""Which features exist: those installed under the entry point group `discord_supervisor.features`.

Each feature declares itself (`FEATURE = Feature(...)` in its package's `__init__.py`) and is listed as an entry
point, ours in pyproject.toml and any other installed distribution's in its own:

    [project.entry-points."discord_supervisor.features"]
    remind = "remind_feature"            # a module declaring FEATURE, or "module:OBJECT" for the Feature itself

Declarations are read lazily and never import a Cog, so `check` stays fast. A feature that cannot be read (its
import raises, it declares no Feature, its name is taken) is recorded as broken: an instance that switches it on
is invalid with that error in `check` and `status`; nothing else notices. Each instance constructs its own Cog
objects (never `load_extension`, which goes through the process-wide `sys.modules`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor.sdk.feature import Feature

if TYPE_CHECKING:
    from supervisor.config import InstanceConfig
    from supervisor.migrator import Migration

ENTRY_POINT_GROUP = "discord_supervisor.features"
CORE_PACKAGE = "features.core"
# The features this repository ships, in the order `help` and `features` list them (pyproject.toml lists them as
# entry points too). A package here that does not exist yet is a reserved name: "not available in this release".
FEATURE_PACKAGES = (
    "features.moderation",
    "features.stocks",
    "features.games",
    "features.music",
    "features.auto_role",
    "features.join_role",
    "features.welcome",
    "features.ai_chat",
    "features.mcp",
    "features.minecraft",
)


@dataclass(frozen=True)
class BrokenFeature:
    """An installed feature that could not be read; `error` says why, `source` where it came from."""

    name: str
    source: str
    error: str


def _declaration(package: str) -> Feature | None:
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError as error:
        if error.name and package.startswith(error.name):
            return None  # not in this release yet: a reserved name
        raise
    feature = getattr(module, "FEATURE", None)
    if not isinstance(feature, Feature):
        raise TypeError(f"{package} must declare FEATURE = Feature(...)")
    return feature


def _from_entry_point(entry: metadata.EntryPoint) -> Feature:
    loaded: Any = entry.load()
    feature = loaded if isinstance(loaded, Feature) else getattr(loaded, "FEATURE", None)
    if not isinstance(feature, Feature):
        raise TypeError(f"{entry.value} declares no FEATURE = Feature(...)")
    if feature.name != entry.name:
        raise TypeError(f"its entry point is named {entry.name!r} but it declares name={feature.name!r}")
    if feature.migrations:
        feature_migrations(feature)  # a missing or misnamed migrations folder is this feature's error, now
    return feature


def _source(entry: metadata.EntryPoint) -> str:
    dist = entry.dist
    return f"{entry.value} (distribution {dist.name} {dist.version})" if dist is not None else entry.value


@functools.cache
def _discovered() -> tuple[Mapping[str, Feature], Mapping[str, BrokenFeature]]:
    found: dict[str, Feature] = {}
    broken: dict[str, BrokenFeature] = {}
    for package in FEATURE_PACKAGES:  # ours: a bug here is ours to see at once, so it raises
        feature = _declaration(package)
        if feature is not None:
            found[feature.name] = feature
    ours = set(FEATURE_PACKAGES) | {CORE_PACKAGE}
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if entry.value in ours:
            continue
        if entry.name in found or entry.name == "core":
            broken.setdefault(entry.name + " (duplicate)", BrokenFeature(
                entry.name, _source(entry), f"the name {entry.name!r} is taken by another feature"))
            continue
        try:
            found[entry.name] = _from_entry_point(entry)
        except Exception as error:  # a third party's bug: that feature is broken, nothing else
            broken[entry.name] = BrokenFeature(entry.name, _source(entry), f"{type(error).__name__}: {error}")
    return found, broken


@functools.cache
def core() -> Feature:
    feature = _declaration(CORE_PACKAGE)
    assert feature is not None
    return feature


def features() -> Mapping[str, Feature]:
    """Every switchable feature installed, by name: ours in FEATURE_PACKAGES order, then others by name."""
    return _discovered()[0]


features.cache_clear = _discovered.cache_clear  # type: ignore[attr-defined]  # tests re-read FEATURE_PACKAGES


def from_other_distributions() -> tuple[str, ...]:
    """Names of the working features found only through another distribution's entry point."""
    ours = {package.rpartition(".")[2] for package in FEATURE_PACKAGES}
    return tuple(name for name in features() if name not in ours)


def broken() -> Mapping[str, BrokenFeature]:
    """Installed features that could not be read, by name."""
    return _discovered()[1]


def reserved_names() -> tuple[str, ...]:
    """Names of features a later release ships: switching one on says it is not available yet."""
    shipped = features()
    return tuple(package.rpartition(".")[2] for package in FEATURE_PACKAGES
                 if package.rpartition(".")[2] not in shipped)


def enabled_features(config: InstanceConfig) -> list[Feature]:
    """Core first, then the installed features `config` switches on."""
    shipped = features()
    return [core(), *(shipped[name] for name in config.enabled_features() if name in shipped)]


_MIGRATIONS: dict[str, list[Migration]] = {}  # by feature name: read once per process (files never change)


def feature_migrations(feature: Feature) -> list[Migration]:
    """The migrations in the folder `Feature(migrations="package:folder")` names, recorded as the feature's."""
    from supervisor.migrator import MigrationError, load_migrations

    if not feature.migrations:
        return []
    cached = _MIGRATIONS.get(feature.name)
    if cached is None:
        package, _, folder = feature.migrations.partition(":")
        directory = Path(str(resources.files(package) / (folder or "migrations")))
        if not directory.is_dir():
            raise MigrationError(f"feature {feature.name}: migrations folder {feature.migrations!r} not found "
                                 f"(looked in {directory})")
        cached = _MIGRATIONS[feature.name] = load_migrations(directory, owner=feature.name)
    return cached


def migrations_for(config: InstanceConfig, root: list[Migration]) -> list[Migration]:
    """The supervisor's migrations and those of every feature `config` switches on, in version order.
    Reads files the first time: call it off the event loop (asyncio.to_thread)."""
    from supervisor.migrator import combined

    return combined(root, *(feature_migrations(f) for f in enabled_features(config) if f.migrations))
