"""The daemon freezes its heap after each start, also for an instance that started after "daemon ready" went out,
and takes full collections over from CPython (a freeze after a bounded number of allocations instead)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from supervisor.daemon.heap import NEVER, YOUNG_PER_FREEZE, HeapFreezer
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


async def test_full_collections_become_freezes_of_what_came_since_the_last() -> None:
    heap = HeapFreezer(quiet_seconds=0.05)
    before = gc.get_threshold()
    heap.start()
    try:
        assert gc.get_threshold()[2] == NEVER  # CPython never walks the whole heap on its own
        with capture_logs() as logs:
            kept = []
            # Enough surviving allocations for YOUNG_PER_FREEZE middle-generation collections and then some.
            for _ in range(YOUNG_PER_FREEZE * before[0] * before[1] * 2):
                kept.append([])
            await eventually(lambda: any(e.get("reason") == "allocations" for e in logs), timeout=5)
        frozen = next(e for e in logs if e.get("reason") == "allocations")
        assert frozen["event"] == "heap_frozen" and frozen["objects"] > 0
        assert gc.get_freeze_count() > 0
    finally:
        heap.close()
        gc.unfreeze()
    assert gc.get_threshold() == before
