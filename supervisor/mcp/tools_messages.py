"""Servers, messages and reactions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from supervisor.mcp.catalogue import Call, ToolError, integer, string, tool

BULK_DELETE_MAX_AGE = dt.timedelta(days=14)
NO_PINGS: dict[str, list[str]] = {"parse": []}  # an MCP client never pings @everyone, a role or a member by accident
_CUSTOM_EMOJI = re.compile(r"^<a?:(\w+):(\d+)>$")


def message_line(message: dict[str, Any]) -> str:
    author = message.get("author") or {}
    stamp = str(message.get("timestamp", ""))[:19].replace("T", " ")
    line = f"[{stamp}] {author.get('username', '?')} ({author.get('id', '?')}) [msg_id={message['id']}]: " \
           f"{message.get('content', '')}"
    if message.get("attachments"):
        line += f" [+{len(message['attachments'])} attachment(s)]"
    if message.get("embeds"):
        line += f" [+{len(message['embeds'])} embed(s)]"
    return line


@tool("list_guilds", "List the servers this bot is in.", guild_scoped=False)
async def list_guilds(call: Call) -> str:
    guilds = sorted(call.bot.guilds, key=lambda g: g.id)
    return f"{len(guilds)} server(s):\n" + "\n".join(f"{g.name} | ID: {g.id}" for g in guilds)


@tool("get_guild_info", "Name, owner, member count, channels and roles of a server.")
async def get_guild_info(call: Call) -> str:
    guild = call.require_guild()
    data = await call.api("GET", "/guilds/{guild_id}", params={"with_counts": "true"}, guild_id=guild.id)
    channels = await call.api("GET", "/guilds/{guild_id}/channels", guild_id=guild.id)
    members = data.get("approximate_member_count") or guild.member_count or "unknown"
    return (f"Server: {data['name']}\nID: {data['id']}\nOwner: {data.get('owner_id')}\nApprox Members: {members}\n"
            f"Channels: {len(channels)}\nRoles: {len(data.get('roles', []))}")


@tool("send_message", "Send a message to a channel (mentions never ping).", required=("channel_id", "content"),
      channel_id=string("channel ID"), content=string("the text, 1-2000 characters"))
async def send_message(call: Call) -> str:
    channel = await call.channel()
    content = call.text("content", min_length=1, max_length=2000)
    sent = await call.api("POST", "/channels/{channel_id}/messages", channel_id=channel["id"],
                          json={"content": content, "allowed_mentions": NO_PINGS})
    return f"Message sent (ID: {sent['id']})"


@tool("delete_messages", "Delete the most recent messages of a channel (1-100; bulk delete only reaches 14 days).",
      required=("channel_id", "count"), channel_id=string("channel ID"), count=integer("how many, 1-100"))
async def delete_messages(call: Call) -> str:
    channel = await call.channel()
    count = call.number("count", low=1, high=100)
    messages = await call.api("GET", "/channels/{channel_id}/messages", params={"limit": count},
                              channel_id=channel["id"])
    cutoff = dt.datetime.now(dt.UTC) - BULK_DELETE_MAX_AGE
    ids = [m["id"] for m in messages if dt.datetime.fromisoformat(m["timestamp"]) > cutoff]
    if not ids:
        return "No messages younger than 14 days to delete."
    if len(ids) == 1:
        await call.api("DELETE", "/channels/{channel_id}/messages/{message_id}", channel_id=channel["id"],
                       message_id=ids[0])
    else:
        await call.api("POST", "/channels/{channel_id}/messages/bulk-delete", channel_id=channel["id"],
                       json={"messages": ids})
    skipped = len(messages) - len(ids)
    return f"Deleted {len(ids)} message(s)" + (f"; {skipped} older than 14 days left" if skipped else "")


@tool("get_recent_messages", "The latest messages of a channel, newest first.", required=("channel_id",),
      channel_id=string("channel ID"), limit=integer("1-100, default 50"), before=string("a message ID"))
async def get_recent_messages(call: Call) -> str:
    channel = await call.channel()
    params: dict[str, Any] = {"limit": call.number("limit", default=50, low=1, high=100)}
    before = call.snowflake("before", required=False)
    if before:
        params["before"] = before
    messages = await call.api("GET", "/channels/{channel_id}/messages", params=params, channel_id=channel["id"])
    if not messages:
        return "No messages."
    return "\n".join(message_line(m) for m in messages)


@tool("search_messages", "Search a channel's history by author, text and time, page by page.",
      required=("channel_id",), channel_id=string("channel ID"), author_id=string("only this author"),
      author_name=string("author name contains (any case)"), content=string("text contains (any case)"),
      after=string("ISO date, RFC 3339 time or message ID"), before=string("ISO date, RFC 3339 time or message ID"),
      limit=integer("most matches, 1-1000, default 100"), max_pages=integer("pages of 100 to scan, 1-100, default 20"))
async def search_messages(call: Call) -> str:
    channel = await call.channel()
    limit = call.number("limit", default=100, low=1, high=1000)
    max_pages = call.number("max_pages", default=20, low=1, high=100)
    author_id = call.snowflake("author_id", required=False)
    author_name = (call.text("author_name", required=False) or "").lower()
    needle = (call.text("content", required=False) or "").lower()
    after = call.moment("after")
    cursor = call.moment("before")
    matches: list[str] = []
    scanned = pages = 0
    exhausted = False
    while pages < max_pages and len(matches) < limit:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["before"] = cursor
        page = await call.api("GET", "/channels/{channel_id}/messages", params=params, channel_id=channel["id"])
        pages += 1
        for message in page:
            if after is not None and int(message["id"]) <= after:
                exhausted = True
                break
            scanned += 1
            author = message.get("author") or {}
            if author_id and str(author.get("id")) != str(author_id):
                continue
            if author_name and author_name not in str(author.get("username", "")).lower():
                continue
            if needle and needle not in str(message.get("content", "")).lower():
                continue
            matches.append(message_line(message))
            if len(matches) >= limit:
                break
        if exhausted or len(page) < 100:
            exhausted = True
            break
        cursor = int(page[-1]["id"])
    truncated = not exhausted
    summary = f"{len(matches)} match(es) in {scanned} message(s) scanned" + \
              (" (stopped early: raise max_pages or narrow the search)" if truncated else "")
    return "\n".join([summary, *matches])


def emoji_route(text: str) -> str:
    custom = _CUSTOM_EMOJI.match(text)
    if custom:
        return f"{custom.group(1)}:{custom.group(2)}"
    if text.isdigit():
        return f"_:{text}"
    if not text or len(text) > 32:
        raise ToolError("emoji must be a unicode emoji, <:name:id>, <a:name:id> or an emoji ID")
    return text  # Route quotes it


async def _reaction(call: Call, *, add: bool) -> str:
    channel = await call.channel()
    message_id = call.snowflake("message_id")
    emoji = emoji_route(call.text("emoji") or "")
    await call.api("PUT" if add else "DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                   channel_id=channel["id"], message_id=message_id, emoji=emoji)
    return "Reaction added" if add else "Reaction removed"


_REACTION_ARGS: dict[str, Any] = {"channel_id": string("channel ID"), "message_id": string("message ID"),
                  "emoji": string("unicode emoji, <:name:id>, <a:name:id> or an emoji ID")}
tool("add_reaction", "React to a message as the bot.", required=("channel_id", "message_id", "emoji"),
     **_REACTION_ARGS)(lambda call: _reaction(call, add=True))
tool("remove_reaction", "Remove the bot's own reaction from a message.",
     required=("channel_id", "message_id", "emoji"), **_REACTION_ARGS)(lambda call: _reaction(call, add=False))
