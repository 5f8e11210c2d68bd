"""Auto-role: count each member's messages and promote regulars from one role to another."""

from supervisor.sdk import Feature, Setting, duration, float_range, int_range, snowflake

FEATURE = Feature(
    name="auto_role",
    summary="counts messages and promotes members from one role to another after an age or a message count",
    cog="features.auto_role.cog:AutoRoleCog",
    # members: join times and the periodic scan over everyone holding from_role.
    intents=frozenset({"members"}),
    permissions=frozenset({"manage_roles", "view_channel"}),
    settings={
        "from_role": Setting(str, required=True, rule=snowflake, doc="the role members are promoted from (ID)"),
        "to_role": Setting(str, required=True, rule=snowflake, doc="the role they are promoted to (ID)"),
        "min_age": Setting(str, "3d", rule=duration, doc="time since joining the server, such as \"3d\""),
        "min_messages": Setting(int, 20, rule=int_range(0, 10_000_000), doc="messages counted in this server"),
        "require_all": Setting(bool, False, doc="true: both criteria; false: either one is enough"),
        "scan_interval": Setting(float, 60.0, rule=float_range(0.5, 86_400),
                                 doc="seconds between scans of everyone holding from_role"),
    },
)
