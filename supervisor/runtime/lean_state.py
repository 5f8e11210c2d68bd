"""Per-bot objects of discord.py that a process hosting thousands of bots makes lazily or shares.

Measured with tracemalloc at 300 bots (bench/start_profile.py --memory):
- `ConnectionState.parsers`: discord.py maps every gateway event name to a bound `parse_*` method of the bot's
  state when the state is built, about 75 bound methods and their dict per bot (11 KB). `LazyParsers` answers the
  same lookup (`parsers[event]`, KeyError for an unknown event) when an event comes in.
- `ExponentialBackoff` (each connection's reconnect delays) builds a `random.Random()` of its own, 2.6 KB of
  Mersenne Twister state per bot. One generator for the process does the same job: the jitter only has to differ
  between bots, not come from separate generators.
`run --discord-defaults` keeps discord.py's own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import discord.backoff


class LazyParsers:
    """`ConnectionState.parsers` (event name -> its bound parse method), looked up per event."""

    __slots__ = ("_state",)

    def __init__(self, state: Any) -> None:
        self._state = state

    def __getitem__(self, event: str) -> Callable[[Any], None]:
        parser = getattr(self._state, "parse_" + event.lower(), None) if event.isupper() else None
        if parser is None:
            raise KeyError(event)
        return parser  # type: ignore[no-any-return]

    def __contains__(self, event: object) -> bool:
        try:
            self[str(event)]
        except KeyError:
            return False
        return True


class _OneGenerator:
    """What discord.backoff uses of the random module: `Random()`, here always the process's one generator."""

    def __init__(self) -> None:
        self._generator = random.Random()

    def Random(self) -> random.Random:  # the random module's name
        return self._generator


def share_backoff_random() -> None:
    """Every ExponentialBackoff made from now on in this process draws from one generator (process-global)."""
    if not isinstance(discord.backoff.random, _OneGenerator):
        discord.backoff.random = _OneGenerator()  # type: ignore[assignment]


def lazy_parsers(bot: Any) -> None:
    """Replace the bot's table of bound parse methods by a lookup (before it connects)."""
    bot._connection.parsers = LazyParsers(bot._connection)
