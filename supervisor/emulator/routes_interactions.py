"""Interaction routes: the one callback per interaction, and the application webhook for follow-ups and edits.

Neither carries a bot token: the interaction token in the path is the credential, and it lapses after 15 minutes.
"""

from __future__ import annotations

from typing import Any

from . import validation
from .errors import FormErrors
from .interactions import (
    CALLBACK_TYPES,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    EPHEMERAL,
    LOADING,
    MESSAGE_COMPONENT,
    MODAL,
    RESPONSE_FLAGS,
    Interaction,
    unknown_webhook,
)
from .models import Application, Message
from .operations import Operations
from .rest import NO_CONTENT, Ctx, Reply, RouteSpec, authenticated_by_path, snowflake_param
from .routes_messages import apply_edit, attachments_from


def _callback_app(ops: Operations, params: dict[str, str]) -> Application:
    return ops.interactions.app_for_callback(snowflake_param(params["interaction_id"]), params["token"])


def _webhook_app(ops: Operations, params: dict[str, str]) -> Application:
    return ops.interactions.app_for_webhook(snowflake_param(params["application_id"]), params["token"])


def _webhook_interaction(ctx: Ctx) -> Interaction:
    return ctx.ops.interactions.for_webhook(ctx.id("application_id"), ctx.params["token"])


def _flags(body: dict[str, Any]) -> int:
    raw = body.get("flags")
    return int(raw) if isinstance(raw, int) else 0


def _check_new_message(ctx: Ctx, body: dict[str, Any]) -> None:
    validation.check_message(body)
    validation.check_not_empty(
        body.get("content") or "", body.get("embeds") or [], ctx.files, bool(body.get("components") or body.get("poll"))
    )


@authenticated_by_path(_callback_app)
async def callback(ctx: Ctx) -> Reply:
    interactions = ctx.ops.interactions
    interaction = interactions.for_callback(ctx.id("interaction_id"), ctx.params["token"])
    body = ctx.json()
    kind: int = body["type"] if isinstance(body.get("type"), int) else -1  # -1: refused just below
    if kind not in CALLBACK_TYPES:
        form = FormErrors()
        form.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {set(CALLBACK_TYPES)} for a button press.")
        form.raise_if_any()
    data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
    resource_message: Message | None = None
    if kind == CHANNEL_MESSAGE:
        _check_new_message(ctx, data)
        resource_message = interactions.new_message(
            interaction, data, flags=_flags(data) & RESPONSE_FLAGS, attachments=attachments_from(ctx, data, [])
        )
        interaction.original_id = resource_message.id
    elif kind == DEFERRED_CHANNEL_MESSAGE:
        # A "Bot is thinking..." message: the first follow-up or an @original edit fills it in.
        flags = LOADING | (_flags(data) & EPHEMERAL)
        resource_message = interactions.new_message(interaction, {}, flags=flags)
        interaction.original_id = resource_message.id
        interaction.fill_deferred = True
    elif kind == DEFERRED_UPDATE:
        interaction.original_id = interaction.message.id
    elif kind == MODAL:  # a form shown to the presser; submitting it is a new interaction (modals.py)
        interaction.modal = data
    else:  # UPDATE_MESSAGE (7): edit the message whose button was pressed
        interaction.original_id = interaction.message.id
        resource_message = interactions.message_of(interaction, "@original")  # 10008 if it was deleted meanwhile
        apply_edit(ctx, resource_message, data)
        interactions.edited(resource_message)
    interactions.answered(interaction, kind)
    if ctx.query.get("with_response") not in ("1", "true", "True"):
        return NO_CONTENT
    answer: dict[str, Any] = {"id": str(interaction.id), "type": MESSAGE_COMPONENT}
    resource: dict[str, Any] = {"type": kind}
    if resource_message is not None:
        answer.update(
            response_message_id=str(resource_message.id),
            response_message_loading=bool(resource_message.flags & LOADING),
            response_message_ephemeral=bool(resource_message.flags & EPHEMERAL),
        )
        resource["message"] = ctx.ops.message_payload(resource_message)
    return 200, {"interaction": answer, "resource": resource}


@authenticated_by_path(_webhook_app)
async def followup(ctx: Ctx) -> Reply:
    interactions = ctx.ops.interactions
    interaction = _webhook_interaction(ctx)
    if not interaction.responded:
        raise unknown_webhook()
    body = ctx.json()
    _check_new_message(ctx, body)
    if interaction.fill_deferred and interaction.original_id is not None:
        # The first follow-up after a deferred channel message replaces the loading message.
        interaction.fill_deferred = False
        message = interactions.message_of(interaction, "@original")
        apply_edit(ctx, message, body)
        message.flags &= ~LOADING
        interactions.edited(message)
    else:
        message = interactions.new_message(
            interaction, body, flags=_flags(body) & RESPONSE_FLAGS, attachments=attachments_from(ctx, body, [])
        )
    if ctx.query.get("wait") in ("1", "true", "True"):
        return 200, ctx.ops.message_payload(message)
    return NO_CONTENT


@authenticated_by_path(_webhook_app)
async def get_webhook_message(ctx: Ctx) -> Reply:
    interaction = _webhook_interaction(ctx)
    return 200, ctx.ops.message_payload(ctx.ops.interactions.message_of(interaction, ctx.params["message_id"]))


@authenticated_by_path(_webhook_app)
async def edit_webhook_message(ctx: Ctx) -> Reply:
    interactions = ctx.ops.interactions
    interaction = _webhook_interaction(ctx)
    message = interactions.message_of(interaction, ctx.params["message_id"])
    apply_edit(ctx, message, ctx.json())
    if message.flags & LOADING:
        message.flags &= ~LOADING
        interaction.fill_deferred = False
    interactions.edited(message)
    return 200, ctx.ops.message_payload(message)


@authenticated_by_path(_webhook_app)
async def delete_webhook_message(ctx: Ctx) -> Reply:
    interactions = ctx.ops.interactions
    interaction = _webhook_interaction(ctx)
    interactions.deleted(interactions.message_of(interaction, ctx.params["message_id"]))
    return NO_CONTENT


ROUTES: list[RouteSpec] = [
    ("POST", "/interactions/{interaction_id}/{token}/callback", callback),
    ("POST", "/webhooks/{application_id}/{token}", followup),
    ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", get_webhook_message),
    ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", edit_webhook_message),
    ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", delete_webhook_message),
]
