"""Which feature packages exist. Each declares itself (`FEATURE = Feature(...)` in its `__init__.py`).

Declarations are read lazily and never import a Cog, so `check` stays fast. Each instance constructs its own
Cog objects (never `load_extension`, which goes through the process-wide `sys.modules`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from supervisor.sdk.feature import Feature

if TYPE_CHECKING:
    from supervisor.config import InstanceConfig

CORE_PACKAGE = "features.core"
# Switchable features, in the order `help` and `features` list them.
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


@functools.cache
def core() -> Feature:
    feature = _declaration(CORE_PACKAGE)
    assert feature is not None
    return feature


@functools.cache
def features() -> Mapping[str, Feature]:
    """Every switchable feature this release ships, by name."""
    found = (_declaration(package) for package in FEATURE_PACKAGES)
    return {feature.name: feature for feature in found if feature is not None}


def reserved_names() -> tuple[str, ...]:
    """Names of features a later release ships: switching one on says it is not available yet."""
    shipped = features()
    return tuple(package.rpartition(".")[2] for package in FEATURE_PACKAGES
                 if package.rpartition(".")[2] not in shipped)


def enabled_features(config: InstanceConfig) -> list[Feature]:
    """Core first, then the shipped features `config` switches on."""
    shipped = features()
    return [core(), *(shipped[name] for name in config.enabled_features() if name in shipped)]
