"""The daemon freezes its long-lived heap once the fleet is up; closed bots' memory still comes back."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from structlog.testing import capture_logs

from supervisor.daemon.heap import REFREEZE_AFTER, HeapFreezer
from tests.support import eventually


class Node:
    """Stands in for a closed bot: objects that only a reference cycle keeps alive."""

    def __init__(self) -> None:
        self.me = self


async def test_a_frozen_cycle_is_reclaimed_after_enough_bots_closed() -> None:
    heap = HeapFreezer(quiet_seconds=0.05)
    try:
        node = Node()
        alive = weakref.ref(node)
        with capture_logs() as logs:
            heap.freeze()
        assert logs[0]["event"] == "heap_frozen" and logs[0]["objects"] > 0
        del node
        gc.collect()
        assert alive() is not None  # frozen: a collection does not look at it
        for _ in range(REFREEZE_AFTER - 1):
            heap.bot_closed()
        assert alive() is not None
        heap.bot_closed()  # the last one thaws, collects and freezes again, once the closures stop
        assert alive() is not None
        await eventually(lambda: alive() is None, timeout=5)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_nothing_is_collected_while_the_daemon_stops() -> None:
    heap = HeapFreezer(quiet_seconds=0.05)
    try:
        node = Node()
        alive = weakref.ref(node)
        heap.freeze()
        del node
        heap.stop()  # every bot closes now: a collection per 32 of them would only delay the exit
        for _ in range(REFREEZE_AFTER * 3):
            heap.bot_closed()
        await asyncio.sleep(0.2)
        assert alive() is not None
    finally:
        gc.unfreeze()


async def test_a_freeze_never_lists_or_walks_the_frozen_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A freeze neither walks the frozen heap (gc.get_freeze_count(): tens of milliseconds per freeze at thousands
    of bots) nor lists it (gc.get_objects() hands another thread's half-built tuple a second reference, and its
    resize then fails with SystemError: seen in yt-dlp's thread during a music command)."""
    heap = HeapFreezer(quiet_seconds=0.05)
    try:
        with capture_logs() as logs:
            heap.freeze("imports")  # the first one counts (a small heap, before any bot)

            def refused(*_args: object, **_kwargs: object) -> None:
                raise AssertionError("a freeze listed or walked the heap")

            monkeypatch.setattr(gc, "get_objects", refused)
            monkeypatch.setattr(gc, "get_freeze_count", refused)
            kept = [Node() for _ in range(1000)]
            heap.freeze("allocations")
        first, second = (entry for entry in logs if entry["event"] == "heap_frozen")
        assert first["objects"] > 0
        assert second["objects"] == first["objects"]
        assert kept
    finally:
        monkeypatch.undo()
        gc.unfreeze()
