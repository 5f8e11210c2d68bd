"""Every task an instance's code starts belongs to that instance, however it was started.

asyncio re-raises KeyboardInterrupt and SystemExit out of the event loop when a task raises one, which ends every
bot in the process. discord.py runs a View's or Modal's callback, an app command and each event in a task of its
own, and a feature may start tasks itself (`asyncio.create_task`, `discord.ext.tasks`). So the loop gets a task
factory: a task created while an instance's code runs (its context carries the instance's owner, set by the
runner) runs inside a guard that turns any BaseException other than cancellation into a restart of that instance
alone, with the callback that raised named in its `last_error`.

A plain callback is no task: one an instance's code schedules with `loop.call_soon`, `call_later`, `call_at` or
`call_soon_threadsafe` (or a done callback of its own future, which asyncio schedules with `call_soon`) runs in the
context captured when it was scheduled, and asyncio lets KeyboardInterrupt and SystemExit out of it and out of the
loop. So the loop's scheduling methods wrap such a callback (never a task's own step: the task factory guards
that) in a guard that restarts its instance instead, naming the callback.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import weakref
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any

import discord

Crash = Callable[[str, BaseException], None]

# The instance whose code runs in this context: its InstanceContext.crash. Set by the runner for each run.
owner: contextvars.ContextVar[Crash | None] = contextvars.ContextVar("instance_owner", default=None)

_LIBRARY_DIRS = tuple(os.path.dirname(module.__file__ or "") + os.sep for module in (asyncio, discord))
_SUPERVISOR_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep


# Tasks that ended in a ContainedCrash (weak: an entry goes with its task).
_contained: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


class ContainedCrash(Exception):
    """What a task ends with instead of the BaseException it raised (that one restarted its instance)."""


def must_contain(error: BaseException) -> bool:
    """KeyboardInterrupt, SystemExit or another BaseException that no `except Exception` stops."""
    return not isinstance(error, Exception | asyncio.CancelledError | GeneratorExit)


def culprit(tb: TracebackType | None) -> tuple[str, str]:
    """(kind, name) of the code that raised: the outermost frame outside asyncio, discord.py and the supervisor
    (the feature's callback or coroutine), else the innermost frame. kind: "modal", "view callback" or "task"."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    files = [frame.f_code.co_filename for frame in frames]
    kind = "task"
    if any(name.endswith(os.path.join("ui", "modal.py")) for name in files):
        kind = "modal"
    elif any(name.endswith(os.path.join("ui", "view.py")) for name in files):
        kind = "view callback"
    for frame in frames:
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIBRARY_DIRS) and not filename.startswith(_SUPERVISOR_DIR):
            return kind, frame.f_code.co_qualname
    return kind, frames[-1].f_code.co_qualname if frames else "?"


def describe(error: BaseException, task_name: str | None = None) -> str:
    kind, name = culprit(error.__traceback__)
    where = f"{kind} {name}" if kind != "task" or not task_name else f"task {task_name!r} ({name})"
    return f"{where} raised {error!r}"


async def _guarded(coro: Coroutine[Any, Any, Any], crash: Crash) -> Any:
    try:
        return await coro
    except BaseException as error:
        if not must_contain(error):
            raise
        task = asyncio.current_task()
        crash(describe(error, task.get_name() if task is not None else None), error)
        if task is not None:
            _contained.add(task)
        raise ContainedCrash(repr(error)) from None


def _settle(inner: Coroutine[Any, Any, Any], task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        if inspect.getcoroutinestate(inner) == inspect.CORO_CREATED:
            inner.close()  # cancelled before its first step: no "never awaited" warning for the feature's coroutine
        return
    if task in _contained:
        task.exception()  # retrieved: the crash is logged and handled, asyncio need not report it again
    # Any other exception stays the business of whoever awaits the task (asyncio reports it if nobody does).


class _GuardedCallback:
    """A callback an instance's code scheduled: a BaseException from it restarts that instance, never the loop."""

    __slots__ = ("__wrapped__", "crash")

    def __init__(self, callback: Callable[..., Any], crash: Crash):
        self.__wrapped__ = callback  # asyncio's debug repr and its exception handler show the feature's callback
        self.crash = crash

    def __call__(self, *args: Any) -> Any:
        try:
            return self.__wrapped__(*args)
        except BaseException as error:
            if not must_contain(error):
                raise
            self.crash(f"callback {callback_name(self.__wrapped__, error)} raised {error!r}", error)
            return None

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


def callback_name(callback: Callable[..., Any], error: BaseException) -> str:
    """The feature's callable as a person finds it in their code: `SaboteurCog._fire`."""
    while isinstance(callback, functools.partial):
        callback = callback.func
    name = getattr(callback, "__qualname__", None)
    return name if isinstance(name, str) and "<lambda>" not in name else culprit(error.__traceback__)[1]


def _needs_guard(callback: Callable[..., Any], context: contextvars.Context | None) -> Crash | None:
    """Whose callback this is, if it is an instance's own (not a task's step or wakeup, not already guarded)."""
    if isinstance(callback, _GuardedCallback) or isinstance(getattr(callback, "__self__", None), asyncio.Future):
        return None
    return context.get(owner) if context is not None else owner.get()


def _guard_scheduling(loop: asyncio.AbstractEventLoop) -> None:
    """Wrap the loop's call_soon, call_later, call_at and call_soon_threadsafe (on this loop object only)."""
    def guarding(schedule: Callable[..., asyncio.Handle], timed: bool) -> Callable[..., asyncio.Handle]:
        def guarded(*args: Any, context: contextvars.Context | None = None) -> asyncio.Handle:
            at = 1 if timed else 0  # call_later(delay, callback, ...), call_at(when, callback, ...)
            crash = _needs_guard(args[at], context)
            if crash is not None:
                args = (*args[:at], _GuardedCallback(args[at], crash), *args[at + 1:])
            return schedule(*args, context=context)
        return guarded

    for method, timed in (("call_soon", False), ("call_soon_threadsafe", False), ("call_later", True),
                          ("call_at", True)):
        setattr(loop, method, guarding(getattr(loop, method), timed))


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Give `loop` the containing task factory and scheduling methods (once; any factory already set keeps
    working beneath it)."""
    previous = loop.get_task_factory()
    if getattr(previous, "contains_instances", False):
        return
    _guard_scheduling(loop)

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        context = kwargs.get("context")
        crash = context.get(owner) if context is not None else owner.get()
        inner = coro
        if crash is not None and inspect.iscoroutine(coro):
            coro = _guarded(coro, crash)
        task = previous(loop, coro, **kwargs) if previous is not None else asyncio.Task(coro, loop=loop, **kwargs)
        if coro is not inner and isinstance(task, asyncio.Task):
            task.add_done_callback(lambda done: _settle(inner, done))
        return task

    factory.contains_instances = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)
