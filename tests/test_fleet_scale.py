"""The daemon at scale, seen from one or two instances: per-instance reloads that still honour the rules
between instances, and gateway connections whose memory cost is fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from supervisor.emulator import Emulator
from tests.conftest import InstanceFolders
from tests.daemon import eventually
from tests.test_supervision_e2e import Fleet, answers, save, status


@pytest_asyncio.fixture
async def pair(emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
               unique) -> AsyncIterator[Fleet]:
    world = Fleet(emu, instances, tmp_path, database_url, schemas, unique)
    await world.daemon.start()
    try:
        await world.daemon.wait_running("alpha", "beta")
        yield world
    finally:
        assert await world.daemon.stop() == 0, world.daemon.stderr_text[-3000:]


async def _rejected(fleet: Fleet, expected: dict[str, bool]) -> bool:
    shown = await status(fleet.daemon)
    return all((shown[name]["rejected"] is not None) == rejected for name, rejected in expected.items())


async def test_an_edit_taking_another_instances_schema_rejects_both_until_undone(pair: Fleet) -> None:
    fleet = pair
    a, b = fleet.a, fleet.b
    good_env = (b.folder / ".env").read_text()
    save(b.folder / ".env", good_env.replace(f"DB_SCHEMA={b.schema}", f"DB_SCHEMA={a.schema}"))
    # Only beta's files changed, yet alpha is told too: the rule is between the two.
    await eventually(lambda: _rejected(fleet, {"alpha": True, "beta": True}))
    shown = await status(fleet.daemon)
    assert f"schema '{a.schema}' is also used by instance 'beta'" in shown["alpha"]["rejected"]
    assert f"schema '{a.schema}' is also used by instance 'alpha'" in shown["beta"]["rejected"]
    # Both keep running on their last good config meanwhile.
    assert "Pong" in (await answers(fleet.emu, a, "!ping") or "")
    assert "Pong" in (await answers(fleet.emu, b, "?ping") or "")

    save(b.folder / ".env", good_env)
    await eventually(lambda: _rejected(fleet, {"alpha": False, "beta": False}))
    assert fleet.sessions() == (1, 0, 1, 0)  # nobody reconnected


async def test_gateway_connections_use_zlib_stream(pair: Fleet) -> None:
    """zstd-stream's window (megabytes, kept per connection) made busy bots grow; zlib-stream's is 32 KiB."""
    fleet = pair
    assert fleet.emu.gateway.compressions == ["zlib-stream", "zlib-stream"]
    assert "Pong" in (await answers(fleet.emu, fleet.a, "!ping") or "")
