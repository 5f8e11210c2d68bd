"""Music: each bot plays in voice through discord.py's own voice client; PyAV decodes and encodes in-process."""

from supervisor.sdk import Feature, Setting, float_range, int_range

FEATURE = Feature(
    name="music",
    summary="plays music in voice channels (yt-dlp sources, a queue, player buttons, DJ mode)",
    cog="features.music.cog:MusicCog",
    default_enabled=True,
    # voice_states: who is in which voice channel (play needs the member's channel; leaving when humans leave).
    intents=frozenset({"voice_states"}),
    permissions=frozenset({"connect", "speak", "view_channel", "send_messages", "embed_links",
                           "read_message_history"}),
    settings={
        "idle_timeout": Setting(float, 300.0, rule=float_range(1, 86400),
                                doc="seconds the bot stays in voice after the queue ends before it leaves"),
        "resolve_timeout": Setting(float, 30.0, rule=float_range(1, 300),
                                   doc="seconds yt-dlp may take to resolve a song or a playlist"),
        "bitrate": Setting(int, 128, rule=int_range(16, 510),
                           doc="Opus bitrate in kbit/s (Discord plays at most the channel's bitrate)"),
        "complexity": Setting(int, 5, rule=int_range(0, 10),
                              doc="Opus encoder effort 0-10: lower costs less CPU per playing bot"),
    },
)
