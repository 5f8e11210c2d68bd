"""Reminders: `!remind 10m stretch` answers in the same channel when the time comes."""

from supervisor.sdk import Feature, Setting, float_range, int_range

FEATURE = Feature(
    name="remind",
    summary="reminds a member in the channel after a delay (!remind 10m stretch)",
    cog="remind_feature.cog:RemindCog",
    permissions=frozenset({"send_messages", "view_channel"}),
    settings={
        "max_pending": Setting(int, 5, rule=int_range(1, 100), doc="reminders one member may have waiting"),
        "check_interval": Setting(float, 30.0, rule=float_range(1, 3600),
                                  doc="seconds between looks for due reminders (one is also set for each new one)"),
    },
    migrations="remind_feature:migrations",  # its own table, in the instance's schema, when it is on there
)
