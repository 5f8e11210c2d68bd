"""Join role: every member who joins gets a role."""

from supervisor.sdk import Feature, Setting, snowflake

FEATURE = Feature(
    name="join_role",
    summary="gives every member who joins a role",
    cog="features.join_role.cog:JoinRoleCog",
    intents=frozenset({"members"}),  # GUILD_MEMBER_ADD
    permissions=frozenset({"manage_roles"}),
    settings={
        "role": Setting(str, required=True, rule=snowflake, doc="the role given on join (ID)"),
    },
)
