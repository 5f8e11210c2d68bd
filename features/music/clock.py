"""The idle timer's clock: a `clock` service installed on the instance (`ctx.lookup("clock")`, what the music
tests use), else the kit's `ctx.clock` once it has one, else the event loop's.

Each is asked for `async sleep(seconds)` only, and looked up each time a timer starts, so a test can install one
on a running instance. Interim: with the kit's clock seam (`ctx.clock`, `FeatureHarness.advance`) merged, the
service lookup can go and the tests can move the harness's clock instead.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class Clock(Protocol):
    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


LOOP_CLOCK = LoopClock()


def clock_of(ctx: Any) -> Clock:
    found = ctx.lookup("clock") or getattr(ctx, "clock", None)
    return found if found is not None and hasattr(found, "sleep") else LOOP_CLOCK
