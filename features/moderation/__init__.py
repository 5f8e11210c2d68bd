"""Moderation: tempbans that are never forgotten, kicks, timeouts, nuke, guild settings and the audit log."""

from supervisor.sdk import Feature, Setting, float_range

FEATURE = Feature(
    name="moderation",
    summary="tempbans, kicks, timeouts, nuke and the audit log",
    cog="features.moderation.cog:ModerationCog",
    default_enabled=True,
    # members: converters and hierarchy checks need every member's roles; moderation: ban events keep caches true.
    intents=frozenset({"members", "moderation"}),
    permissions=frozenset({
        "ban_members", "kick_members", "moderate_members", "manage_messages", "read_message_history",
        "view_channel", "send_messages", "embed_links",
    }),
    settings={
        "sweep_interval": Setting(
            float, 600.0, rule=float_range(0.5, 3600),
            doc="seconds between safety sweeps for expired tempbans; each tempban is lifted when it expires anyway",
        ),
    },
)
