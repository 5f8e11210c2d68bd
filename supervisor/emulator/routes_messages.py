"""Message routes: create (JSON or multipart), read, history, edit, delete, bulk delete, reactions."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

from . import errors, validation
from .errors import APIError, FormErrors
from .intents import Intent, can_see_content, redact_content
from .models import GUILD_CATEGORY, Attachment, Channel, Message
from .permissions import P
from .rest import NO_CONTENT, Ctx, Reply, RouteSpec
from .snowflake import snowflake_time, utcnow

BULK_DELETE_MAX_AGE = dt.timedelta(days=14)
# Only SUPPRESS_EMBEDS (1<<2) and SUPPRESS_NOTIFICATIONS (1<<12) may be set by a bot on send.
_SETTABLE_FLAGS = (1 << 2) | (1 << 12)


def _visible(ctx: Ctx, message: Message) -> dict[str, Any]:
    """A message as this bot's REST calls see it: MESSAGE_CONTENT is checked against the application."""
    data = ctx.ops.message_payload(message)
    has_content = bool(ctx.app.privileged_intents & Intent.MESSAGE_CONTENT)
    return data if can_see_content(data, ctx.bot.id, has_content) else redact_content(data)


def _message(ctx: Ctx, channel: Channel) -> Message:
    return ctx.state.message(channel.id, ctx.id("message_id"))


def attachments_from(ctx: Ctx, body: dict[str, Any], keep: list[Attachment]) -> list[Attachment]:
    """Uploaded files become attachments; `attachments` metadata may describe them or keep old ones."""
    described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
    kept = [a for a in keep if str(a.id) in described] if "attachments" in body else list(keep)
    new = []
    for upload in ctx.files:
        meta = described.get(str(upload.id), {})
        new.append(
            Attachment(
                id=ctx.state.ids.next(),
                filename=meta.get("filename") or upload.filename,
                data=upload.data,
                content_type=upload.content_type,
                description=meta.get("description"),
            )
        )
    return kept + new


async def create_message(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    if channel.type == GUILD_CATEGORY:
        raise APIError(400, 50008, "Cannot send messages in a non-text channel")
    ctx.require_channel(channel, P.SEND_MESSAGES)
    if ctx.files:
        ctx.require_channel(channel, P.ATTACH_FILES)
    body = ctx.json()
    validation.check_message(body)
    content = body.get("content") or ""
    embeds = body.get("embeds") or []
    attachments = attachments_from(ctx, body, [])
    others = bool(body.get("sticker_ids") or body.get("components") or body.get("poll"))
    validation.check_not_empty(content, embeds, attachments, others)

    reference = None
    ref = body.get("message_reference")
    if ref and ref.get("message_id") is not None:
        ref_channel = int(ref.get("channel_id") or channel.id)
        reference = ctx.state.messages.get(ref_channel, {}).get(int(ref["message_id"]))
        if reference is None and ref.get("fail_if_not_exists", True):
            form = FormErrors()
            form.add(("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            form.raise_if_any()
    guild = ctx.state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
    mentions, roles, everyone = ctx.ops.resolve_mentions(
        guild, ctx.bot.id, content, body.get("allowed_mentions"), reference
    )
    message = ctx.ops.create_message(
        channel,
        ctx.bot.id,
        content,
        embeds=embeds,
        attachments=attachments,
        components=body.get("components") or [],
        mentions=mentions,
        mention_roles=roles,
        mention_everyone=everyone,
        reference=reference,
        nonce=body.get("nonce"),
        tts=bool(body.get("tts")),
        flags=int(body.get("flags") or 0) & _SETTABLE_FLAGS,
    )
    return 200, ctx.ops.message_payload(message)


async def get_message(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    ctx.require_channel(channel, P.READ_MESSAGE_HISTORY)
    return 200, _visible(ctx, _message(ctx, channel))


async def history(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    if not ctx.channel_perms(channel) & P.READ_MESSAGE_HISTORY:
        return 200, []  # Discord answers an empty page rather than an error
    try:
        limit = int(ctx.query.get("limit", 50))
    except ValueError:
        limit = 50
    limit = max(1, min(limit, 100))
    ordered = sorted(ctx.state.messages[channel.id].values(), key=lambda m: m.id)
    if "around" in ctx.query:
        around = int(ctx.query["around"])
        older = [m for m in ordered if m.id < around][-(limit // 2) :] if limit > 1 else []
        newer = [m for m in ordered if m.id >= around][: limit - len(older)]
        page = older + newer
    elif "after" in ctx.query:
        after = int(ctx.query["after"])
        page = [m for m in ordered if m.id > after][:limit]
    else:
        before = int(ctx.query["before"]) if "before" in ctx.query else None
        page = [m for m in ordered if before is None or m.id < before][-limit:]
    # Discord always answers newest first.
    return 200, [_visible(ctx, m) for m in reversed(page)]


async def edit_message(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    message = _message(ctx, channel)
    if message.author_id != ctx.bot.id:
        raise APIError(403, 50005, "Cannot edit a message authored by another user")
    apply_edit(ctx, message, ctx.json())
    ctx.ops.message_edited(channel, message)
    return 200, ctx.ops.message_payload(message)


def apply_edit(ctx: Ctx, message: Message, body: dict[str, Any]) -> None:
    """Validate an edit body and apply it to `message` (the caller announces the change)."""
    validation.check_message(body)
    new_content = (body.get("content") or "") if "content" in body else message.content
    new_embeds = (body.get("embeds") or []) if "embeds" in body else message.embeds
    new_components = (body.get("components") or []) if "components" in body else message.components
    new_attachments = attachments_from(ctx, body, message.attachments)
    validation.check_not_empty(new_content, new_embeds, new_attachments, bool(new_components))
    message.content = new_content
    message.embeds = new_embeds
    message.attachments = new_attachments
    message.components = new_components
    if "flags" in body:
        # Ephemeral and loading state are Discord's to keep; a bot may only toggle the settable flags.
        message.flags = (message.flags & ~_SETTABLE_FLAGS) | (int(body.get("flags") or 0) & _SETTABLE_FLAGS)
    if "content" in body:
        channel = ctx.state.channels[message.channel_id]
        guild = ctx.state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        message.mentions, message.mention_roles, message.mention_everyone = ctx.ops.resolve_mentions(
            guild, ctx.bot.id, new_content, body.get("allowed_mentions"), None
        )


async def delete_message(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    message = _message(ctx, channel)
    if message.author_id != ctx.bot.id:
        ctx.require_channel(channel, P.MANAGE_MESSAGES)
    ctx.ops.delete_message(channel, message, ctx.bot.id)
    if channel.guild_id is not None and message.author_id != ctx.bot.id:
        guild = ctx.state.guilds[channel.guild_id]
        ctx.ops.audit(guild, "message_delete", ctx.bot.id, message.author_id, ctx.reason, message_id=message.id)
    return NO_CONTENT


async def bulk_delete(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    if channel.guild_id is None:
        raise errors.missing_permissions()
    ctx.require_channel(channel, P.MANAGE_MESSAGES)
    raw_ids = ctx.json().get("messages")
    form = FormErrors()
    if not isinstance(raw_ids, list) or len(raw_ids) < 2:
        form.add(("messages",), "BASE_TYPE_MIN_LENGTH", "Must be 2 or more in length.")
    elif len(raw_ids) > 100:
        form.max_length(("messages",), 100)
    form.raise_if_any()
    assert isinstance(raw_ids, list)  # raise_if_any refused anything else
    ids = list(dict.fromkeys(int(i) for i in raw_ids))
    oldest_allowed = utcnow() - BULK_DELETE_MAX_AGE
    if any(snowflake_time(i) < oldest_allowed for i in ids):
        raise APIError(400, 50034, "You can only bulk delete messages that are under 14 days old.")
    stored = ctx.state.messages[channel.id]
    messages = [stored[i] for i in ids if i in stored]
    if messages:
        ctx.ops.delete_messages(channel, messages, ctx.bot.id)
    guild = ctx.state.guilds[channel.guild_id]
    ctx.ops.audit(guild, "message_bulk_delete", ctx.bot.id, channel.id, ctx.reason, count=len(messages))
    return NO_CONTENT


def _emoji_key(ctx: Ctx) -> str:
    return urllib.parse.unquote(ctx.params["emoji"])


async def add_reaction(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    ctx.require_channel(channel, P.READ_MESSAGE_HISTORY)
    message = _message(ctx, channel)
    key = _emoji_key(ctx)
    if key not in message.reactions or not message.reactions[key]:
        ctx.require_channel(channel, P.ADD_REACTIONS)
    ctx.ops.reaction(channel, message, ctx.bot.id, key, add=True)
    return NO_CONTENT


async def remove_own_reaction(ctx: Ctx) -> Reply:
    channel = ctx.channel()
    message = _message(ctx, channel)
    ctx.ops.reaction(channel, message, ctx.bot.id, _emoji_key(ctx), add=False)
    return NO_CONTENT


ROUTES: list[RouteSpec] = [
    ("GET", "/channels/{channel_id}/messages", history),
    ("POST", "/channels/{channel_id}/messages", create_message),
    ("POST", "/channels/{channel_id}/messages/bulk-delete", bulk_delete),
    ("GET", "/channels/{channel_id}/messages/{message_id}", get_message),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}", edit_message),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message),
    ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", add_reaction),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", remove_own_reaction),
]
