"""One watchfiles watcher on the instances directory; changes are coalesced per instance.

Editors save by writing a new file and renaming it over the old one, so the directory is watched, not files.
Each instance is reloaded once its folder has been quiet for QUIET_SECONDS: a burst of saves or a `git
checkout` gives one reload per instance, with the last content.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import watchfiles

from supervisor.logs import get_logger

# watchfiles' Rust loop wakes every `step` ms to look for a stop request (taking the GIL) and for changes gone
# quiet: at 10 ms that was half a percent of a core on a daemon with nothing to do, at 50 ms a tenth. It hands
# over changes once they were quiet for a step, and a folder then needs QUIET_SECONDS more: 90 ms in all, as
# with 10 + 80 before.
WATCH_STEP_MS = 50
QUIET_SECONDS = 0.04


def instance_of(path: str, root: Path) -> str | None:
    try:
        # Not resolved: an instance folder that is a symlink must still count as that instance.
        relative = Path(os.path.abspath(path)).relative_to(root)
    except ValueError:
        return None
    return relative.parts[0] if relative.parts else None


async def watch(root: Path, on_change: Callable[[set[str]], Awaitable[None]], stop: asyncio.Event) -> None:
    root = Path(os.path.abspath(root))
    log = get_logger("supervisor.watcher")
    pending: dict[str, float] = {}  # instance name -> monotonic time of its last change
    wakeup = asyncio.Event()

    async def flush() -> None:
        while not stop.is_set():
            if not pending:
                wakeup.clear()
                await wakeup.wait()
                continue
            now = time.monotonic()
            due = {name for name, last in pending.items() if now - last >= QUIET_SECONDS}
            if due:
                for name in due:
                    del pending[name]
                try:
                    await on_change(due)
                except Exception as error:  # a reload bug must never kill the watcher
                    log.error("reload_failed", instances=sorted(due), error=repr(error), exc_info=error)
                continue
            await asyncio.sleep(QUIET_SECONDS - (now - min(pending.values())) + 0.005)

    flusher = asyncio.create_task(flush())
    try:
        async for changes in watchfiles.awatch(root, stop_event=stop, debounce=WATCH_STEP_MS, step=WATCH_STEP_MS,
                                               recursive=True):
            now = time.monotonic()
            for _change, path in changes:
                name = instance_of(path, root)
                if name:
                    pending[name] = now
            wakeup.set()
    finally:
        flusher.cancel()
