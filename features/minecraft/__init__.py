"""Minecraft: `verify` links a Discord account to a player through the server's companion plugin; donator roles
follow the plugin's list; a chargeback strips the player's roles and asks staff to ban or dismiss."""

from supervisor.sdk import EnvKey, Feature

from .settings import minecraft_env_warnings, validate_minecraft_table

FEATURE = Feature(
    name="minecraft",
    summary="verify (link a Minecraft player), donator role sync and chargeback alerts, with a companion plugin",
    cog="features.minecraft.cog:MinecraftCog",
    default_enabled=False,
    # members: the donator sync reads every member's roles from the cache, so it calls Discord only to change one.
    intents=frozenset({"members"}),
    permissions=frozenset({"manage_roles", "ban_members", "send_messages", "embed_links", "view_channel"}),
    validate=validate_minecraft_table,
    env_warnings=minecraft_env_warnings,
    env={
        "MC_VERIFY_URL": EnvKey("base URL of the Minecraft companion plugin (verify, donators, bans)"),
        "MC_VERIFY_SECRET": EnvKey("bearer secret shared with the plugin, both ways (the chargeback webhook too)"),
    },
)
