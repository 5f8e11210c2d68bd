"""Webhooks. Their tokens are secrets: results show them only where the tool exists to (list, create), and the
call log never carries arguments."""

from __future__ import annotations

from supervisor.mcp.catalogue import Call, ToolError, string, tool
from supervisor.mcp.tools_messages import NO_PINGS


@tool("list_webhooks", "A channel's webhooks, with their tokens.", required=("channel_id",),
      channel_id=string("channel ID"))
async def list_webhooks(call: Call) -> str:
    channel = await call.channel()
    hooks = await call.api("GET", "/channels/{channel_id}/webhooks", channel_id=channel["id"])
    if not hooks:
        return "No webhooks."
    return "\n".join(f"{h.get('name')} (id={h['id']}) — token={h.get('token', '')}" for h in hooks)


@tool("create_webhook", "Create a webhook in a channel.", required=("channel_id", "name"),
      channel_id=string("channel ID"), name=string("1-80 characters, not containing 'discord'"))
async def create_webhook(call: Call) -> str:
    channel = await call.channel()
    name = call.text("name", min_length=1, max_length=80) or ""
    if "discord" in name.lower():
        raise ToolError("Discord refuses webhook names containing 'discord'")
    hook = await call.api("POST", "/channels/{channel_id}/webhooks", channel_id=channel["id"], json={"name": name})
    return f"Created webhook {hook['name']} (id={hook['id']}) — token={hook.get('token', '')}"


async def _webhook_in_guild(call: Call) -> dict:
    guild = call.require_guild()
    webhook_id = call.snowflake("webhook_id")
    hook = await call.api("GET", "/webhooks/{webhook_id}", webhook_id=webhook_id)
    if str(hook.get("guild_id")) != str(guild.id):
        raise ToolError(f"webhook {webhook_id} is not in server {guild.id}")
    return hook


@tool("delete_webhook", "Delete a webhook.", required=("webhook_id",), webhook_id=string("webhook ID"))
async def delete_webhook(call: Call) -> str:
    hook = await _webhook_in_guild(call)
    await call.api("DELETE", "/webhooks/{webhook_id}", webhook_id=hook["id"])
    return f"Deleted webhook {hook.get('name')} ({hook['id']})"


@tool("send_webhook_message", "Post through a webhook (mentions never ping).",
      required=("webhook_id", "token", "content"), webhook_id=string("webhook ID"), token=string("webhook token"),
      content=string("1-2000 characters"), username=string("name to show, 1-80 characters"),
      avatar_url=string("avatar image URL"))
async def send_webhook_message(call: Call) -> str:
    hook = await _webhook_in_guild(call)
    token = call.text("token", min_length=1, max_length=200)
    body: dict[str, object] = {"content": call.text("content", min_length=1, max_length=2000),
                               "allowed_mentions": NO_PINGS}
    username = call.text("username", required=False, min_length=1, max_length=80)
    if username:
        body["username"] = username
    avatar = call.text("avatar_url", required=False, max_length=2048)
    if avatar:
        body["avatar_url"] = avatar
    sent = await call.api("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=hook["id"],
                          webhook_token=token, params={"wait": "true"}, json=body)
    return f"Webhook message sent (ID: {sent['id']})"
