"""discord.py's per-bot objects the daemon makes lazily or shares (supervisor/runtime/lean_state.py) behave as
discord.py's own: every gateway event reaches the same parser, reconnect delays stay random within their bounds."""

from __future__ import annotations

import discord
import discord.backoff
import pytest

from supervisor.runtime.lean_state import LazyParsers, _OneGenerator, share_backoff_random


def test_every_gateway_event_reaches_the_parser_discord_py_would_call() -> None:
    client = discord.Client(intents=discord.Intents.none())
    table = client._connection.parsers  # discord.py's own, built eagerly
    lazy = LazyParsers(client._connection)
    assert len(table) > 50
    for event, parser in table.items():
        assert lazy[event] == parser
        assert event in lazy
    for unknown in ("NOT_AN_EVENT", "message_create", ""):  # discord.py logs these as unknown events
        with pytest.raises(KeyError):
            lazy[unknown]


def test_reconnect_delays_stay_random_and_bounded_with_one_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.backoff, "random", discord.backoff.random)  # restored after the test
    share_backoff_random()
    assert isinstance(discord.backoff.random, _OneGenerator)
    delays = []
    for _ in range(20):
        backoff = discord.backoff.ExponentialBackoff()
        delays.append(backoff.delay())
        assert 0 <= delays[-1] <= 2  # the first delay: uniform(0, base * 2**1)
    assert len(set(delays)) > 10
