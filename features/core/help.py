"""The help embed, laid out as the original's: Music, Games and Stocks for everyone (each only when its feature is
on), the other features' commands, Moderation and Admin only for members who may use them, then the shortcuts.

A command lands in its feature's section unless it names another (`extras={"help_section": "Admin"}`); a command
whose permission check the member fails is left out, so a section with nothing left for them is not shown.
"""

from __future__ import annotations

import discord
from discord.ext import commands
from supervisor.sdk import BLURPLE, FIELD_VALUE_LIMIT, VERSION, fit_lines

FIRST = ("Music", "Games", "Stocks")  # the original's order; everyone sees these
LAST = ("Core", "Moderation", "Admin")
PITCH = (("AI Chat", "chat, search the web"), ("Music", "play music"), ("Stocks", "trade stocks"),
         ("Games", "start games"))


async def _member_may(command: commands.Command, context: commands.Context) -> bool:
    """Whether the member passes the command's own permission checks (the cog's checks are not run: they may
    count a rate limit). A check about the bot's own permissions does not hide a command."""
    for check in command.checks:
        try:
            if not await discord.utils.maybe_coroutine(check, context):
                return False
        except (commands.MissingPermissions, commands.MissingRole, commands.MissingAnyRole,
                commands.NotOwner, commands.PrivateMessageOnly):
            return False
        except commands.CheckFailure:
            continue
    return True


def _line(command: commands.Command, start: str) -> str:
    signature = "" if isinstance(command, commands.Group) or not command.signature else f" {command.signature}"
    brief = f" — {command.brief}" if command.brief else ""
    return f"`{start}{command.qualified_name}{signature}`{brief}"


def _order(name: str) -> tuple[int, str]:
    if name in FIRST:
        return (0, str(FIRST.index(name)))
    if name in LAST:
        return (2, str(LAST.index(name)))
    return (1, name)


async def sections(context: commands.Context, start: str) -> tuple[dict[str, list[str]], list[commands.Command]]:
    """Each section's lines, in the original's order, and the top-level commands shown."""
    found: dict[str, list[str]] = {}
    roots: list[commands.Command] = []
    cogs = sorted(context.bot.cogs.values(), key=lambda c: _order(c.qualified_name))
    for cog in cogs:
        for command in sorted(cog.walk_commands(), key=lambda c: c.qualified_name):
            if command.hidden or not await _member_may(command, context):
                continue
            section = command.extras.get("help_section", cog.qualified_name)
            found.setdefault(section, []).append(_line(command, start))
            if command.parent is None:
                roots.append(command)
    return {name: found[name] for name in sorted(found, key=_order)}, roots


def shortcuts(roots: list[commands.Command]) -> str:
    """"`w` wordle · `conn` connections · ... · `h` help": the shortest alias of each top-level command shown."""
    pairs = []
    for command in roots:
        short = min(command.aliases, key=len, default="")
        if short and len(short) < len(command.name):
            pairs.append((command.name, short))
    pairs.sort(key=lambda pair: pair[0] == "help")  # help last, as the original
    return " · ".join(f"`{short}` {name}" for name, short in pairs)


async def help_embed(context: commands.Context, bot_name: str, start: str) -> discord.Embed:
    embed = discord.Embed(title=f"{bot_name} Commands", colour=BLURPLE)
    cogs = context.bot.cogs
    pitch = [text for cog, text in PITCH if cog in cogs]
    if "AI Chat" in cogs and pitch:
        listed = pitch[0] if len(pitch) == 1 else ", ".join(pitch[:-1]) + ", or " + pitch[-1]
        embed.description = f"@mention me to {listed} — all in plain English."
    shown, roots = await sections(context, start)
    for name, lines in shown.items():
        embed.add_field(name=name, value=fit_lines(lines, FIELD_VALUE_LIMIT), inline=False)
    line = shortcuts(roots)
    if line:
        embed.add_field(name="Shortcuts", value=line, inline=False)
    embed.set_footer(text=f"{bot_name} v{VERSION}")
    return embed
