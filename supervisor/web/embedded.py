"""uvicorn run inside the daemon's event loop: shared by the fleet's HTTP listener and the per-instance MCP
endpoints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn


class EmbeddedUvicorn(uvicorn.Server):
    """uvicorn inside the daemon: the daemon owns the signals (uvicorn would catch SIGTERM and raise it again)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def stop_embedded(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Ask uvicorn to finish; past 5 s (or if it fails), cancel its task."""
    server.should_exit = True
    try:
        await asyncio.wait_for(asyncio.shield(task), 5.0)
    except (TimeoutError, Exception):
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
