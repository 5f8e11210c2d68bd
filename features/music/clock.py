"""The idle timer's clock: the event loop's, unless the instance was given another (tests move time).

Interim seam until the kit's own clock lands: a `clock` service (`ctx.lookup("clock")`) with
`async sleep(seconds)`, looked up each time a timer starts, so a test can install one on a running instance.
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
    found = getattr(ctx, "clock", None) or ctx.lookup("clock")
    return found if found is not None and hasattr(found, "sleep") else LOOP_CLOCK
