"""A local Discord stand-in for tests: REST + gateway that unmodified discord.py connects to."""

from .intents import PRIVILEGED, Intent
from .interactions import Interaction
from .models import (
    GUILD_STAGE_VOICE,
    GUILD_VOICE,
    Application,
    AuditEntry,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    VoiceState,
)
from .permissions import P
from .server import Emulator
from .voice_recording import VoicePacket, VoiceRecording

__all__ = [
    "GUILD_STAGE_VOICE",
    "GUILD_VOICE",
    "PRIVILEGED",
    "Application",
    "AuditEntry",
    "Channel",
    "Emulator",
    "Guild",
    "Intent",
    "Interaction",
    "Member",
    "Message",
    "Overwrite",
    "P",
    "Role",
    "User",
    "VoicePacket",
    "VoiceRecording",
    "VoiceState",
]
