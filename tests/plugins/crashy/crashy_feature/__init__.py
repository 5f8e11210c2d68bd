"""A feature whose `!crash` command raises KeyboardInterrupt, as a careless third-party author's code might."""

from supervisor.sdk import Feature

FEATURE = Feature(
    name="crashy",
    summary="a command with a bug that raises KeyboardInterrupt (!crash)",
    cog="crashy_feature.cog:CrashyCog",
    permissions=frozenset({"send_messages", "view_channel"}),
)
