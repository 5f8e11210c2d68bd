"""Channel webhooks: create, list, get, delete, and execute (a message authored by the webhook)."""

from __future__ import annotations

import secrets
from typing import Any

from . import errors, payloads, routes_interactions
from .errors import APIError, FormErrors
from .models import Application, Webhook
from .operations import Operations
from .permissions import P
from .rest import NO_CONTENT, Ctx, Reply, RouteSpec, authenticated_by_path, snowflake_param


def _hooks(ctx: Ctx) -> dict[int, Webhook]:
    return ctx.state.webhooks


def _payload(ctx: Ctx, hook: Webhook) -> dict[str, Any]:
    return {"id": str(hook.id), "type": 1, "guild_id": str(hook.guild_id), "channel_id": str(hook.channel_id),
            "name": hook.name, "avatar": None, "token": hook.token, "application_id": None,
            "user": payloads.user(ctx.state.users[hook.creator_id])}


def _unknown_webhook() -> APIError:
    return APIError(404, 10015, "Unknown Webhook")


def _hook(ctx: Ctx) -> Webhook:
    hook = _hooks(ctx).get(ctx.id("webhook_id"))
    if hook is None:
        raise _unknown_webhook()
    return hook


async def create_webhook(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    if channel.guild_id is None:
        raise errors.missing_permissions()
    ctx.require_channel(channel, P.MANAGE_WEBHOOKS)
    name = str(ctx.json().get("name") or "")
    form = FormErrors()
    if not 1 <= len(name) <= 80:
        form.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
    elif "discord" in name.lower() or name.lower() in ("clyde",):
        form.add(("name",), "WEBHOOK_NAME_INVALID", "Webhook names cannot contain \"discord\".")
    form.raise_if_any()
    author = ctx.state.create_user(name, bot=True)
    hook = Webhook(ctx.state.ids.next(), channel.guild_id, channel.id, name, secrets.token_urlsafe(48),
                   ctx.bot.id, author.id)
    _hooks(ctx)[hook.id] = hook
    return 200, _payload(ctx, hook)


async def list_webhooks(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    ctx.require_channel(channel, P.MANAGE_WEBHOOKS)
    return 200, [_payload(ctx, h) for h in _hooks(ctx).values() if h.channel_id == channel.id]


async def get_webhook(ctx: Ctx) -> Reply:
    return 200, _payload(ctx, _hook(ctx))


async def delete_webhook(ctx: Ctx) -> Reply:
    hook = _hook(ctx)
    channel = ctx.state.channel(hook.channel_id)
    ctx.require_channel(channel, P.MANAGE_WEBHOOKS)
    del _hooks(ctx)[hook.id]
    return NO_CONTENT


def _execute_auth(ops: Operations, params: dict[str, str]) -> Application:
    """A channel webhook's token is its credential; any other id is an interaction follow-up's application."""
    hook = ops.state.webhooks.get(snowflake_param(params["application_id"]))
    if hook is None:
        return routes_interactions.followup.path_auth(ops, params)  # type: ignore[attr-defined]
    if not secrets.compare_digest(hook.token, params["token"]):
        raise APIError(401, 50027, "Invalid Webhook Token")
    return next(app for app in ops.state.apps.values() if app.user.id == hook.creator_id)


@authenticated_by_path(_execute_auth)
async def execute_webhook(ctx: Ctx) -> Reply:
    hook = ctx.state.webhooks.get(ctx.id("application_id"))
    if hook is None:
        return await routes_interactions.followup(ctx)
    body = ctx.json()
    content = str(body.get("content") or "")
    if not content and not body.get("embeds"):
        raise APIError(400, 50006, "Cannot send an empty message")
    if len(content) > 2000:
        form = FormErrors()
        form.max_length(("content",), 2000)
        form.raise_if_any()
    channel = ctx.state.channel(hook.channel_id)
    users, roles, everyone = ctx.ops.resolve_mentions(
        ctx.state.guilds.get(hook.guild_id), hook.user_id, content, body.get("allowed_mentions"), None
    )
    message = ctx.ops.create_message(channel, hook.user_id, content, embeds=body.get("embeds") or [],
                                     mentions=users, mention_roles=roles, mention_everyone=everyone)
    if ctx.query.get("wait") in ("true", "1"):
        return 200, ctx.ops.message_payload(message)
    return NO_CONTENT


ROUTES: list[RouteSpec] = [
    ("POST", "/channels/{channel_id}/webhooks", create_webhook),
    ("GET", "/channels/{channel_id}/webhooks", list_webhooks),
    ("GET", "/webhooks/{webhook_id}", get_webhook),
    ("DELETE", "/webhooks/{webhook_id}", delete_webhook),
    # Named like the interaction follow-up route it shares its path with.
    ("POST", "/webhooks/{application_id}/{token}", execute_webhook),
]
