"""What the current asyncio task is doing for its instance ("command ban", "task moderation:tempban-sweep").

Set in the task's own context, so it names the culprit when feature code misbehaves: in a crash reason, and in
the watchdog's report of a stalled event loop (read from the stalled task's context).
"""

from __future__ import annotations

import contextvars

current_activity: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_activity", default=None)
