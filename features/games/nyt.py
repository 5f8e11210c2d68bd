"""The NYT's puzzle endpoints (`/svc/wordle/v2/<date>.json`, `/svc/connections/v2/<date>.json`).

The base URL is a supervisor-wide setting (`--nyt-url`, NYT_BASE_URL) so tests and the sandbox use a local stand-in.
Every fetch goes through the process's shared HTTP session with this feature's timeout. A failure is a `PuzzleError`
whose text is the original's reply; the upstream's own text is logged, never shown.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from supervisor.sdk import FeatureContext, http_session
from yarl import URL

DEFAULT_BASE_URL = "https://www.nytimes.com"
SETTING = "nyt_url"
MAX_BODY_BYTES = 256 * 1024


class PuzzleError(Exception):
    """str() is what the member is told."""


@dataclass(frozen=True)
class Wordle:
    solution: str
    date: str  # the NYT's print_date


@dataclass(frozen=True)
class Category:
    title: str
    words: tuple[str, ...]
    difficulty: int  # 0 yellow, 1 green, 2 blue, 3 purple: the order the NYT lists them


@dataclass(frozen=True)
class Connections:
    id: int
    date: str
    categories: tuple[Category, ...]


def wordle_not_found(date: str) -> str:
    return f"No Wordle found for date **{date}**. Use YYYY-MM-DD format, after 2021-06-19."


def connections_not_found(date: str) -> str:
    return (f"No puzzle found for date **{date}**. Make sure the date is valid (YYYY-MM-DD) and after "
            "2023-06-12.")


def puzzle_url(ctx: FeatureContext, game: str, date: dt.date) -> URL:
    base = URL(ctx.supervisor_setting(SETTING) or DEFAULT_BASE_URL)
    return base / "svc" / game / "v2" / f"{date.isoformat()}.json"


async def _get_json(ctx: FeatureContext, game: str, date: dt.date, unreachable: str) -> Any | None:
    """The endpoint's JSON; None for a status that is not 2xx or a body that is not JSON."""
    session = await http_session(ctx)
    url = puzzle_url(ctx, game, date)
    timeout = aiohttp.ClientTimeout(total=float(ctx.settings.get("request_timeout", 10.0)))
    try:
        async with session.get(url, timeout=timeout) as response:
            if response.status // 100 != 2:
                ctx.log.info("nyt_puzzle_missing", game=game, date=date.isoformat(), status=response.status)
                return None
            body = await response.content.read(MAX_BODY_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as error:
        ctx.log.warning("nyt_unreachable", game=game, date=date.isoformat(), error=type(error).__name__)
        raise PuzzleError(unreachable) from None
    if len(body) > MAX_BODY_BYTES:
        ctx.log.warning("nyt_answer_too_big", game=game, date=date.isoformat())
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        ctx.log.warning("nyt_answer_not_json", game=game, date=date.isoformat())
        return None


async def fetch_wordle(ctx: FeatureContext, date: dt.date) -> Wordle:
    shown = date.isoformat()
    data = await _get_json(ctx, "wordle", date, "Failed to fetch Wordle: the NYT did not answer. Try again later.")
    solution = data.get("solution") if isinstance(data, dict) else None
    printed = data.get("print_date") if isinstance(data, dict) else None
    # Cross-checked as the original's 0.6.0: the answer must be for the date asked, and a real 5-letter word.
    if (not isinstance(solution, str) or len(solution) != 5 or not solution.isascii() or not solution.isalpha()
            or printed != shown):
        raise PuzzleError(wordle_not_found(shown))
    return Wordle(solution.lower(), printed)


async def fetch_connections(ctx: FeatureContext, date: dt.date) -> Connections:
    shown = date.isoformat()
    data = await _get_json(ctx, "connections", date,
                           "Failed to fetch puzzle: the NYT did not answer. Try again later.")
    if not isinstance(data, dict):
        raise PuzzleError(connections_not_found(shown))
    if data.get("status") != "OK":
        raise PuzzleError("NYT API returned an error.")
    puzzle = _connections(data)
    if puzzle is None or puzzle.date != shown:
        raise PuzzleError(connections_not_found(shown))
    return puzzle


def _connections(data: dict[str, Any]) -> Connections | None:
    """Four categories of four distinct words, or None."""
    raw = data.get("categories")
    if not isinstance(raw, list) or len(raw) != 4:
        return None
    categories = []
    for difficulty, category in enumerate(raw):
        if not isinstance(category, dict) or not isinstance(category.get("title"), str):
            return None
        cards = category.get("cards")
        contents = [c.get("content") for c in cards if isinstance(c, dict)] if isinstance(cards, list) else []
        words = tuple(w.strip() for w in contents if isinstance(w, str) and w.strip())
        if len(words) != 4 or len(contents) != 4:
            return None
        categories.append(Category(category["title"], words, difficulty))
    every = [w for c in categories for w in c.words]
    if len(set(every)) != 16:
        return None
    puzzle_id = data.get("id")
    return Connections(puzzle_id if isinstance(puzzle_id, int) else 0, str(data.get("print_date", "")),
                       tuple(categories))
