"""A local Discord stand-in for tests: REST + gateway that unmodified discord.py connects to."""

from .intents import PRIVILEGED, Intent
from .interactions import Interaction
from .models import Application, AuditEntry, Channel, Guild, Member, Message, Overwrite, Role, User
from .permissions import P
from .server import Emulator

__all__ = [
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
]
