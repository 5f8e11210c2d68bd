"""The daemon freezes its heap after each start, also for an instance that started after "daemon ready" went out,
takes full collections over from CPython (what survives a middle-generation collection is frozen instead), and
collects the young generations on a clock when CPython's allocation count stands still."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from supervisor.daemon.heap import NEVER, HeapFreezer
from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, eventually, reply_to
from tests.support.logbook import event


def save(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    os.replace(temporary, path)


@pytest.mark.e2e
async def test_an_instance_that_starts_after_ready_is_frozen_too(emu: Emulator, instances: InstanceFolders,
                                                                 tmp_path: Path, database_url: str,
                                                                 schemas: list[str], unique) -> None:
    early = add_bot(emu, instances, "early", prefix="!", schema=unique("heap_early"), database_url=database_url)
    # Discord refuses `late`'s token at first: it fails, which counts as settled, so "daemon_ready" goes out
    # without it.
    late = add_bot(emu, instances, "late", prefix="!", schema=unique("heap_late"), database_url=database_url,
                   register_token=False)
    schemas += [early.schema, late.schema]
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
    await daemon.start()
    try:
        await daemon.wait_running("early")
        await daemon.wait_log(lambda e: e.get("event") == "daemon_ready" and "1 running" in e.get("status", ""))
        await daemon.wait_log(event("heap_frozen", reason="started"))
        mark = daemon.book.mark()

        emu.add_application(late.token, "late-bot")  # the token is good now; an edit of its files retries it
        save(late.folder / ".env", (late.folder / ".env").read_text() + "\n")
        await daemon.wait_running("late", start=mark)
        running = daemon.book.mark()
        frozen = await daemon.wait_log(event("heap_frozen", reason="started"), start=running)
        assert frozen["objects"] > 0
        assert (await reply_to(emu, early, "!ping")).startswith("Pong")
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]


def still_young(objects: list[list[int]]) -> int:
    """How many of these objects a collection would still walk (gc.get_objects() lists every generation, not the
    frozen objects)."""
    ids = {id(obj) for obj in objects}
    return sum(1 for obj in gc.get_objects() if id(obj) in ids)


async def test_what_survives_a_middle_generation_collection_is_frozen() -> None:
    heap = HeapFreezer(quiet_seconds=0.05, young_tick_seconds=3600)  # CPython's own thresholds only
    before = gc.get_threshold()
    heap.start()
    try:
        assert gc.get_threshold()[2] == NEVER  # CPython never walks the whole heap on its own
        # Enough surviving allocations for several middle-generation collections.
        kept = [[index] for index in range(before[0] * before[1] * 3)]
        await eventually(lambda: heap.layers > 0 and still_young(kept) < before[0] * before[1], timeout=5)
    finally:
        heap.close()
        gc.unfreeze()
    assert gc.get_threshold() == before


async def test_the_clock_collects_what_idle_bots_leave_when_the_allocation_count_stands_still() -> None:
    # Old objects, frozen with the heap at start, each replaced by a new one: what an idle bot does with the timer
    # of its next heartbeat. Each free of an old object cancels an allocation in CPython's count, so CPython alone
    # never collects, and the new objects would pile up for the next collection to walk.
    rounds = [[index] for index in range(20_000)]
    heap = HeapFreezer(quiet_seconds=0.05, young_tick_seconds=0.01)
    heap.start()
    try:
        for index in range(len(rounds)):
            rounds[index] = [index]
        assert still_young(rounds) == len(rounds)
        await eventually(lambda: still_young(rounds) == 0, timeout=10)
        assert heap.layers > 0
    finally:
        heap.close()
        gc.unfreeze()
