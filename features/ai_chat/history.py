"""The conversation the model sees: up to 10 relevant of the last 100 messages of the last 30 minutes, then a
separator, then the current request. As the original: the bot's own tool echoes, identity disclaimers and
error texts are left out, with the user message they answered, so the model never repeats them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import discord
from supervisor.sdk import truncate

from .prompt import SEPARATOR
from .sanitize import sanitize

FETCH_LIMIT = 100
MAX_RELEVANT = 10
MAX_AGE = dt.timedelta(minutes=30)
BOT_CONTENT_LIMIT = 500
REPLY_QUOTE_LIMIT = 300

_BAD_BOT_MESSAGE = re.compile("|".join((
    # echoed tool results
    r"^Stopped playback", r"^Skipped \*\*", r"^Paused\.", r"^Resumed\.", r"^Banned \*\*", r"^Unbanned ",
    r"^Deleted \*\*\d+", r"^Shuffled", r"^Loop mode",
    # identity and memory disclaimers
    r"I'?m Claude", r"created by Anthropic", r"I(?: am|'m) an AI (?:language )?model", r"I'?m ChatGPT",
    r"I don'?t have the ability to remember", r"I (?:can(?:no|')t|don'?t) (?:remember|recall) (?:past|previous)",
    # our own error texts
    r"^Failed to join", r"^Something went wrong talking to the AI", r"overlords at DeepSeek won't let me",
    r"^Slow down — try again", r"^I got nothing\. Try rephrasing",
)), re.IGNORECASE)


def is_bad_bot_message(content: str) -> bool:
    return bool(_BAD_BOT_MESSAGE.search(content))


def mention_pattern(bot_id: int) -> re.Pattern[str]:
    return re.compile(rf"<@!?{bot_id}>")


def display_name(author: discord.abc.User) -> str:
    return sanitize(getattr(author, "display_name", None) or author.name).replace("\n", " ")


def _bot_text(message: discord.Message) -> str:
    if message.content:
        text = message.content
        if len(text) > BOT_CONTENT_LIMIT:
            text = text[:BOT_CONTENT_LIMIT] + "\n...[truncated]"
        return text
    parts = [f"[{embed.title or ''}: {embed.description or ''}]" for embed in message.embeds]
    return "[Already completed action] " + " ".join(parts) if parts else ""


def user_text(message: discord.Message, bot_id: int) -> str:
    return sanitize(mention_pattern(bot_id).sub("", message.content)).strip()


async def build_history(message: discord.Message, bot_user: discord.abc.User, started_at: float,
                        now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Relevant earlier messages as chat turns (oldest first), ending with the separator when there are any."""
    now = now or discord.utils.utcnow()
    oldest = max(now - MAX_AGE, dt.datetime.fromtimestamp(started_at, dt.UTC))
    fetched = [m async for m in message.channel.history(limit=FETCH_LIMIT, before=message)]  # newest first
    bot_ids = {m.id for m in fetched if m.author.id == bot_user.id}
    bad_replies_to = {m.reference.message_id for m in fetched
                      if m.author.id == bot_user.id and m.reference and is_bad_bot_message(m.content or "")}
    turns: list[dict[str, Any]] = []
    for earlier in fetched:
        if len(turns) == MAX_RELEVANT:
            break
        if earlier.created_at < oldest:
            break  # newest first: everything after this one is older still
        if earlier.author.id == bot_user.id:
            text = _bot_text(earlier)
            if text and not is_bad_bot_message(text):
                turns.append({"role": "assistant", "content": text})
            continue
        if earlier.author.bot or earlier.id in bad_replies_to:
            continue
        replied_to_bot = earlier.reference is not None and earlier.reference.message_id in bot_ids
        if bot_user in earlier.mentions or replied_to_bot or mention_pattern(bot_user.id).search(earlier.content):
            text = f"{display_name(earlier.author)}: {user_text(earlier, bot_user.id)}"
            turns.append({"role": "user", "content": text})
    turns.reverse()
    if turns:
        turns.append({"role": "system", "content": SEPARATOR})
    return turns


def current_text(message: discord.Message, bot_id: int, referenced: discord.Message | None) -> str:
    """The request itself, with what it replies to when that is a member's message."""
    text = user_text(message, bot_id) or "hey"
    context = ""
    if referenced is not None and not referenced.author.bot:
        if referenced.content:
            quoted = sanitize(truncate(referenced.content, REPLY_QUOTE_LIMIT))
            context = f'[Replying to {display_name(referenced.author)}: "{quoted}"] '
        elif referenced.attachments:
            context = f"[Replying to {display_name(referenced.author)}'s image] "
    return f"{context}{display_name(message.author)}: {text}"
