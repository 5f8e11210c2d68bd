"""Puzzle dates: today's (UTC), a random one since a game's first puzzle, or one a member typed."""

from __future__ import annotations

import datetime as dt
import random

WORDLE_FIRST = dt.date(2021, 6, 19)
CONNECTIONS_FIRST = dt.date(2023, 6, 12)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def random_date(first: dt.date) -> dt.date:
    """Uniform between `first` and today, both included (today when the archive starts in the future)."""
    days = (today() - first).days
    return first + dt.timedelta(days=random.randint(0, days)) if days > 0 else today()


def parse(text: str, first: dt.date) -> dt.date | None:
    """`YYYY-MM-DD` within the archive (from `first` to tomorrow, since the NYT publishes a day ahead in
    some time zones); None otherwise."""
    text = text.strip()
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return date if first <= date <= today() + dt.timedelta(days=1) else None
