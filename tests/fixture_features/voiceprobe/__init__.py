"""A test feature that proves the daemon's own bots reach the emulator's wss voice server: `!tone` joins the
author's voice channel and plays two seconds of a tone; `!leave` leaves."""

from supervisor.sdk import Feature

FEATURE = Feature(
    name="voiceprobe",
    summary="answers !tone (joins your voice channel, plays a tone) and !leave",
    cog="tests.fixture_features.voiceprobe.cog:VoiceProbeCog",
    intents=frozenset({"voice_states"}),
)
