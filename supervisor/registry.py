"""The one place features are registered: their names, defaults, config tables and Cog factories.

Cog classes are imported lazily so `check` stays fast, and each instance constructs its own Cog objects
(never `load_extension`, which goes through the process-wide `sys.modules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from supervisor.settings_schema import Setting, float_range


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    default_enabled: bool
    module: str  # importable module exposing `create_cog(context) -> commands.Cog`
    summary: str
    settings: Mapping[str, Setting] = field(default_factory=dict)


# Always on; not a `[features]` switch.
CORE = FeatureSpec("core", True, "features.core", "help, ping and about")

FEATURES: Mapping[str, FeatureSpec] = {
    spec.name: spec
    for spec in (
        FeatureSpec(
            "moderation",
            True,
            "features.moderation",
            "tempbans, kicks, timeouts, nuke and the audit log",
            {
                "sweep_interval": Setting(
                    float, 30.0, rule=float_range(0.5, 3600), doc="seconds between expired-tempban sweeps"
                ),
            },
        ),
        FeatureSpec("stocks", False, "features.stocks", "the virtual stock-trading game"),
        FeatureSpec("auto_role", False, "features.activity", "promote active members to a role"),
        FeatureSpec("join_role", False, "features.activity", "give new members a role"),
        FeatureSpec("welcome", False, "features.activity", "an AI welcome message for new members"),
        FeatureSpec("ai_chat", False, "features.ai_chat", "chat in the instance's personality"),
        FeatureSpec("mcp", False, "features.mcp", "MCP tools for this bot"),
    )
}
