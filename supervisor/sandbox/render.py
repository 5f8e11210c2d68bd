"""Bot messages as a terminal shows them: Discord markdown, timestamps and mentions resolved, embeds as boxed text.

With `ansi`, bold/italic/underline/strike become terminal styles; without (a pipe), the markers are dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

Names = Callable[[str, int], str | None]  # ("user" | "role" | "channel", id) -> its name, if known

_MENTION = re.compile(r"<(@!?|@&|#)(\d+)>")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_STYLES = (  # (pattern, ANSI start) in the order Discord resolves them
    (re.compile(r"\*\*(.+?)\*\*", re.DOTALL), "\x1b[1m"),
    (re.compile(r"__(.+?)__", re.DOTALL), "\x1b[4m"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", re.DOTALL), "\x1b[3m"),
    (re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)", re.DOTALL), "\x1b[3m"),
    (re.compile(r"~~(.+?)~~", re.DOTALL), "\x1b[9m"),
)
_CODE = re.compile(r"```(?:[a-z0-9]*\n)?(.*?)```|`([^`]+)`", re.DOTALL)
_FORMATS = {"t": "%H:%M", "T": "%H:%M:%S", "d": "%Y-%m-%d", "D": "%d %B %Y", "f": "%d %B %Y %H:%M",
            "F": "%A, %d %B %Y %H:%M"}
RESET = "\x1b[0m"


def relative(moment: dt.datetime, now: dt.datetime) -> str:
    """Like Discord's `<t:…:R>`: the largest unit that reads naturally (59 min 59 s is "1 hour")."""
    seconds = (moment - now).total_seconds()
    amount = abs(seconds)
    # (unit, its seconds, the count from which the next unit up is used)
    for unit, size, limit in (("second", 1, 45), ("minute", 60, 45), ("hour", 3_600, 22), ("day", 86_400, 26),
                              ("month", 2_592_000, 11), ("year", 31_536_000, None)):
        count = round(amount / size)
        if limit is None or count < limit:
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if seconds > 0 else f"{words} ago"
    raise AssertionError("the last unit has no limit")


def timestamp(match: re.Match[str], now: dt.datetime | None = None) -> str:
    moment = dt.datetime.fromtimestamp(int(match[1]), dt.UTC)
    style = match[2] or "f"
    if style == "R":
        return relative(moment, now or dt.datetime.now(dt.UTC))
    return moment.strftime(_FORMATS[style]) + " UTC"


def render_text(text: str, names: Names, ansi: bool = False, now: dt.datetime | None = None) -> str:
    def mention(match: re.Match[str]) -> str:
        kind = {"@": "user", "@!": "user", "@&": "role", "#": "channel"}[match[1]]
        name = names(kind, int(match[2]))
        if name is None:
            return match[0]
        return f"#{name}" if kind == "channel" else f"@{name}"

    # Code is shown as it is: set it aside before the other rules, put it back at the end.
    code: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        code.append(match[1] if match[1] is not None else match[2])
        return f"\x00{len(code) - 1}\x00"

    text = _CODE.sub(keep_code, text)
    text = _MENTION.sub(mention, text)
    text = _TIMESTAMP.sub(lambda m: timestamp(m, now), text)
    for pattern, start in _STYLES:
        text = pattern.sub(_styled(start, ansi), text)
    return re.sub(r"\x00(\d+)\x00", lambda m: code[int(m[1])], text)


def _styled(start: str, ansi: bool) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{start}{m[1]}{RESET}" if ansi else m[1]


def render_embed(embed: dict[str, Any], show: Callable[[str], str], indent: str = "    ") -> list[str]:
    lines: list[str] = []
    if embed.get("title"):
        lines.append(f"{indent}┃ {show(embed['title'])}")
    for text in show(embed.get("description") or "").splitlines():
        lines.append(f"{indent}┃ {text}")
    for embed_field in embed.get("fields") or []:
        lines.append(f"{indent}┃ {show(embed_field.get('name', ''))}:")
        for text in show(str(embed_field.get("value", ""))).splitlines():
            lines.append(f"{indent}┃   {text}")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"{indent}┃ — {show(footer)}")
    return lines


def render_message(where: str, author: str, content: str, embeds: list[dict[str, Any]],
                   names: Names = lambda _kind, _id: None, ansi: bool = False) -> str:
    def show(text: str) -> str:
        return render_text(text, names, ansi)

    head = f"[{where}] {author}:"
    lines = [f"{head} {show(content)}" if content else head]
    for embed in embeds:
        lines.extend(render_embed(embed, show))
    return "\n".join(lines)
