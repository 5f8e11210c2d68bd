"""One object per event loop (the process's bots share it; each test's loop has its own), made on first use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """`per_loop(loop)`: that loop's object. It is kept on the loop itself, so it goes with the loop: a registry keyed
    by loop would keep every loop alive, since the object refers to its loop."""

    def __init__(self, name: str, make: Callable[[asyncio.AbstractEventLoop], T]) -> None:
        self._attribute = f"_supervisor_{name}"
        self._make = make

    def __call__(self, loop: asyncio.AbstractEventLoop) -> T:
        made: T | None = getattr(loop, self._attribute, None)
        if made is None:
            made = self._make(loop)
            setattr(loop, self._attribute, made)
        return made
