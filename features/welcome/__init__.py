"""Welcome: a message in the bot's own voice when a member joins."""

from supervisor.sdk import Feature, Setting, relative_file, snowflake

FEATURE = Feature(
    name="welcome",
    summary="welcomes each new member in the bot's voice (AI-written when a chat provider is configured)",
    cog="features.welcome.cog:WelcomeCog",
    intents=frozenset({"members"}),  # GUILD_MEMBER_ADD
    permissions=frozenset({"view_channel", "send_messages"}),
    settings={
        "channel": Setting(str, required=True, rule=snowflake, doc="the channel welcomes go to (ID)"),
        "prompt_file": Setting(str, "welcome_prompt.txt", rule=relative_file,
                               doc="instructions for the model, read at each join; without a provider, the "
                                   "welcome text itself ({mention}, {name} and {server} are filled in)"),
    },
)
