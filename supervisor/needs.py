"""What an instance's enabled features need from Discord: guild permissions and privileged gateway intents.

Computed from the features' own declarations (`Feature.permissions`, `Feature.intents`), so a new feature's
needs show up in `invite`, `check` and the 4014 failure without touching this module.
"""

from __future__ import annotations

import discord

from supervisor import registry
from supervisor.config import InstanceConfig

PORTAL_URL = "https://discord.com/developers/applications"
# Asked for by every bot (bot_factory.intents_for): prefix commands never fire without it.
BASE_PRIVILEGED = frozenset({"message_content"})
INTENT_LABELS = {"message_content": "Message Content Intent", "members": "Server Members Intent",
                 "presences": "Presence Intent"}


def permission_names(config: InstanceConfig) -> list[str]:
    """The discord.Permissions flag names the enabled features declare, each once."""
    return sorted({name for feature in registry.enabled_features(config) for name in feature.permissions})


def permissions_needed(config: InstanceConfig) -> discord.Permissions:
    return discord.Permissions(**dict.fromkeys(permission_names(config), True))


def privileged_intents(config: InstanceConfig) -> dict[str, list[str]]:
    """Each privileged intent this instance asks for, and what needs it (feature names, or "prefix commands")."""
    needed: dict[str, list[str]] = {name: ["prefix commands"] for name in BASE_PRIVILEGED}
    for feature in registry.enabled_features(config):
        for intent in sorted(feature.privileged_intents()):
            needed.setdefault(intent, []).append(feature.name)
    return dict(sorted(needed.items()))


def other_intents(config: InstanceConfig) -> dict[str, list[str]]:
    """Gateway intents beyond the base ones that need no portal switch (voice_states for music), and who asks."""
    needed: dict[str, list[str]] = {}
    for feature in registry.enabled_features(config):
        for intent in sorted(feature.intents - feature.privileged_intents()):
            needed.setdefault(intent, []).append(feature.name)
    return dict(sorted(needed.items()))


def describe_intents(needed: dict[str, list[str]]) -> str:
    return ", ".join(f"{INTENT_LABELS.get(name, name)} ({', '.join(users)})" for name, users in needed.items())


def intents_refused(error: BaseException, config: InstanceConfig) -> str | None:
    """For a 4014 close: the intents, the features that need them, and the portal page to change."""
    if not isinstance(error, discord.PrivilegedIntentsRequired):
        return None
    return ("Discord refused the privileged intents this bot asks for (close 4014): "
            f"{describe_intents(privileged_intents(config))}. Switch them on under Bot > Privileged Gateway Intents "
            f"at {PORTAL_URL}, or turn those features off")
