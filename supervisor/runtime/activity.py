"""What an asyncio task is doing for its instance ("command ban", "task moderation:tempban-sweep").

Marked once at the start of a one-shot task (a discord.py event, a command inside it, a feature's background
task), so it names the culprit when feature code misbehaves: in a crash reason (read from the context), and in
the watchdog's report of a stalled loop (read from another thread, by task: contexts are per thread).
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref

current_activity: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_activity", default=None)

# Process-wide by design: the watchdog asks "which instance owns the task that holds the loop?". Weak keys: an
# entry lives exactly as long as its task.
_by_task: weakref.WeakKeyDictionary[asyncio.Task[object], tuple[str, str]] = weakref.WeakKeyDictionary()


def mark(instance: str, what: str) -> None:
    """Record what the current task does, for the rest of its life (or until marked again)."""
    current_activity.set(what)
    task = asyncio.current_task()
    if task is not None:
        _by_task[task] = (instance, what)


def activity_of(task: asyncio.Task[object] | None) -> tuple[str | None, str | None]:
    """(instance, what) of a task; (None, the task's name) for one nobody marked."""
    if task is None:
        return None, None
    try:
        found = _by_task.get(task)
    except RuntimeError:  # the mapping changed size while another thread read it: rare, only a report is lost
        found = None
    return found if found is not None else (None, task.get_name())
