"""Discord's message limits (content, embeds) with its 400 error shapes."""

from __future__ import annotations

from typing import Any

from .components import check_components
from .errors import APIError, FormErrors

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_FIELDS = 25
_LIMITS = {"title": 256, "description": 4096}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(_text(embed.get("title"))) + len(_text(embed.get("description")))
    size += len(_text((embed.get("footer") or {}).get("text")))
    size += len(_text((embed.get("author") or {}).get("name")))
    for f in embed.get("fields") or []:
        size += len(_text(f.get("name"))) + len(_text(f.get("value")))
    return size


def _check_embed(errors: FormErrors, index: int, embed: dict[str, Any]) -> None:
    base: tuple[str | int, ...] = ("embeds", index)
    for key, limit in _LIMITS.items():
        if len(_text(embed.get(key))) > limit:
            errors.max_length((*base, key), limit)
    if len(_text((embed.get("footer") or {}).get("text"))) > 2048:
        errors.max_length((*base, "footer", "text"), 2048)
    if len(_text((embed.get("author") or {}).get("name"))) > 256:
        errors.max_length((*base, "author", "name"), 256)
    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        errors.max_length((*base, "fields"), MAX_FIELDS)
    for i, f in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            value = _text(f.get(key))
            if not value:
                errors.required((*base, "fields", i, key))
            elif len(value) > limit:
                errors.max_length((*base, "fields", i, key), limit)


def check_message(payload: dict[str, Any]) -> None:
    """Raise 50035 for fields past Discord's limits (content, embeds, components)."""
    errors = FormErrors()
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors.add(("content",), "BASE_TYPE_STRING", "Could not interpret value as string.")
    elif content is not None and len(content) > MAX_CONTENT:
        errors.max_length(("content",), MAX_CONTENT)
    embeds = payload.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errors.max_length(("embeds",), MAX_EMBEDS)
    for i, embed in enumerate(embeds):
        _check_embed(errors, i, embed)
    if sum(_embed_size(e) for e in embeds) > MAX_EMBED_TOTAL:
        errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}")
    flags = payload.get("flags")
    check_components(payload.get("components"), errors, flags if isinstance(flags, int) else 0)
    errors.raise_if_any()


def check_not_empty(content: str, embeds: list[Any], attachments: list[Any], others: bool = False) -> None:
    if not content and not embeds and not attachments and not others:
        raise APIError(400, 50006, "Cannot send an empty message")
