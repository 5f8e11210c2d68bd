"""NYT Wordle and Connections, played in a channel as in the original: one game of each kind per channel."""

from supervisor.sdk import Feature, Setting, float_range

FEATURE = Feature(
    name="games",
    summary="NYT Wordle and Connections in a channel (puzzles from the NYT's JSON endpoint)",
    cog="features.games.cog:GamesCog",
    default_enabled=True,
    # Valid Wordle guesses are deleted once scored; the board is edited in place.
    permissions=frozenset({"view_channel", "send_messages", "embed_links", "read_message_history",
                           "manage_messages"}),
    settings={
        "idle_expiry": Setting(float, 1800.0, rule=float_range(60, 86400),
                               doc="seconds without a guess or a press after which a game is over (the original: "
                                   "30 minutes)"),
        "request_timeout": Setting(float, 10.0, rule=float_range(0.5, 60), doc="seconds to wait for the NYT"),
    },
)
