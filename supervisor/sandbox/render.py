"""Bot messages as readable terminal text: content, then each embed's title, description, fields, footer."""

from __future__ import annotations

from typing import Any


def render_embed(embed: dict[str, Any], indent: str = "    ") -> list[str]:
    lines: list[str] = []
    if embed.get("title"):
        lines.append(f"{indent}┃ {embed['title']}")
    for text in (embed.get("description") or "").splitlines():
        lines.append(f"{indent}┃ {text}")
    for embed_field in embed.get("fields") or []:
        lines.append(f"{indent}┃ {embed_field.get('name', '')}:")
        for text in str(embed_field.get("value", "")).splitlines():
            lines.append(f"{indent}┃   {text}")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"{indent}┃ — {footer}")
    return lines


def render_message(where: str, author: str, content: str, embeds: list[dict[str, Any]]) -> str:
    head = f"[{where}] {author}:"
    lines = [f"{head} {content}" if content else head]
    for embed in embeds:
        lines.extend(render_embed(embed))
    return "\n".join(lines)
