"""What a user sees when a command fails: a short, clear sentence, never internal text."""

from __future__ import annotations

import discord
from discord.ext import commands

from supervisor.database import is_database_unavailable


class UserError(Exception):
    """Raised by a feature with the exact sentence to reply."""


DATABASE_DOWN = "The database is unavailable right now; try again in a moment."
INTERNAL = "Something went wrong running that command. It has been logged."


def _permission_names(names: list[str]) -> str:
    return ", ".join(name.replace("_", " ").replace("guild", "server").title() for name in names)


def usage(context: commands.Context, start: str) -> str:
    command = context.command
    assert command is not None
    return f"Usage: `{f'{start}{command.qualified_name} {command.signature}'.rstrip()}`"


def user_message(error: Exception, context: commands.Context, start: str) -> str | None:
    """The reply for a failed command; None when the bot should stay silent."""
    if isinstance(error, commands.CommandNotFound):
        return None  # another bot in the guild may share the prefix
    if isinstance(error, commands.MemberNotFound):
        return f"I can't find the member {error.argument!r} in this server."
    if isinstance(error, commands.UserNotFound):
        return f"I can't find the user {error.argument!r}."
    if isinstance(error, commands.ChannelNotFound):
        return f"I can't find the channel {error.argument!r}."
    if isinstance(error, commands.RoleNotFound):
        return f"I can't find the role {error.argument!r}."
    if isinstance(error, commands.UserInputError):  # bad, missing or extra arguments
        return usage(context, start)
    if isinstance(error, commands.MissingPermissions):
        return f"You need the {_permission_names(error.missing_permissions)} permission to use this."
    if isinstance(error, commands.BotMissingPermissions):
        return f"I need the {_permission_names(error.missing_permissions)} permission for that."
    if isinstance(error, commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, commands.CheckFailure):
        return str(error) if str(error) and not str(error).startswith("The check functions") else (
            "You can't use this command here."
        )
    if isinstance(error, commands.CommandInvokeError | commands.ConversionError):
        return invoke_message(error.original)
    return INTERNAL


def invoke_message(error: BaseException) -> str:
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, discord.Forbidden):
        return "Discord refused: I lack the permission for that (check my role and its position)."
    if isinstance(error, discord.HTTPException) and error.status >= 500:
        return "Discord is having trouble right now; try again in a moment."
    if is_database_unavailable(error):
        return DATABASE_DOWN
    return INTERNAL


def is_internal(message: str | None) -> bool:
    return message in (INTERNAL, DATABASE_DOWN)
