"""Direct messages: between the bot and one user, never inside a server."""

from __future__ import annotations

from typing import Any

from supervisor.mcp.catalogue import Call, ToolError, integer, string, tool
from supervisor.mcp.tools_messages import NO_PINGS, message_line


async def _dm_channel(call: Call) -> str:
    user_id = call.snowflake("user_id")
    channel = await call.api("POST", "/users/@me/channels", json={"recipient_id": str(user_id)})
    return channel["id"]


async def _own_message(call: Call, channel_id: str) -> int:
    message_id = call.snowflake("message_id")
    assert message_id is not None  # required: snowflake raised otherwise
    message = await call.api("GET", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                             message_id=message_id)
    if str((message.get("author") or {}).get("id")) != str(call.bot.user.id if call.bot.user else None):
        raise ToolError("only the bot's own messages can be changed")
    return message_id


_USER = string("user ID")


@tool("send_private_message", "Send a direct message to a user.", required=("user_id", "content"),
      guild_scoped=False, user_id=_USER, content=string("the text, 1-2000 characters"))
async def send_private_message(call: Call) -> str:
    content = call.text("content", min_length=1, max_length=2000)
    channel_id = await _dm_channel(call)
    sent = await call.api("POST", "/channels/{channel_id}/messages", channel_id=channel_id,
                          json={"content": content, "allowed_mentions": NO_PINGS})
    return f"Private message sent (ID: {sent['id']})"


@tool("read_private_messages", "The latest direct messages with a user.", required=("user_id",), guild_scoped=False,
      user_id=_USER, limit=integer("1-100, default 50"), before=string("a message ID"))
async def read_private_messages(call: Call) -> str:
    params: dict[str, Any] = {"limit": call.number("limit", default=50, low=1, high=100)}
    before = call.snowflake("before", required=False)
    if before:
        params["before"] = before
    channel_id = await _dm_channel(call)
    messages = await call.api("GET", "/channels/{channel_id}/messages", params=params, channel_id=channel_id)
    return "\n".join(message_line(m) for m in messages) if messages else "No messages."


@tool("edit_private_message", "Edit one of the bot's direct messages.", required=("user_id", "message_id", "content"),
      guild_scoped=False, user_id=_USER, message_id=string("message ID"), content=string("1-2000 characters"))
async def edit_private_message(call: Call) -> str:
    content = call.text("content", min_length=1, max_length=2000)
    channel_id = await _dm_channel(call)
    message_id = await _own_message(call, channel_id)
    await call.api("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                   message_id=message_id, json={"content": content, "allowed_mentions": NO_PINGS})
    return f"Private message {message_id} edited"


@tool("delete_private_message", "Delete one of the bot's direct messages.", required=("user_id", "message_id"),
      guild_scoped=False, user_id=_USER, message_id=string("message ID"))
async def delete_private_message(call: Call) -> str:
    channel_id = await _dm_channel(call)
    message_id = await _own_message(call, channel_id)
    await call.api("DELETE", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                   message_id=message_id)
    return f"Private message {message_id} deleted"
