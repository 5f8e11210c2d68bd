"""The Wordle guess list: words.txt beside this module (see its header), loaded once per process off the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from supervisor.sdk import FeatureContext

WORDS_FILE = Path(__file__).with_name("words.txt")
SHARED_KEY = "games.wordle_words"


def load_words(path: Path = WORDS_FILE) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


async def word_list(ctx: FeatureContext) -> frozenset[str]:
    """One frozen set for every instance of the process (read once, in a thread)."""
    return await ctx.shared(SHARED_KEY, lambda: asyncio.to_thread(load_words))
