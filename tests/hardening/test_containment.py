"""KeyboardInterrupt, SystemExit or a BaseException of a feature's own, raised wherever an instance's code runs
(a button callback, a modal, a bare asyncio task, a periodic job, a listener, a plain callback it scheduled with
call_soon, call_later, call_at or call_soon_threadsafe, or a done callback on a future of its own), restarts that
instance alone: its `status` names the callback, and another bot answers throughout. An escape would end the
test's own event loop."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import FeatureHarness, eventually

RAISED = {"interrupt": "KeyboardInterrupt()", "exit": "SystemExit(3)", "custom": "Sabotage('custom')"}
CULPRIT = {
    "button": "view callback TrapView.press",
    "modal": "modal TrapModal.on_submit",
    "task": "SaboteurCog._bare",
    "job": "'saboteur:trap-job' (SaboteurCog._job)",
    "listener": "event on_message (SaboteurCog.on_message)",
    "soon": "callback SaboteurCog._fire",
    "later": "callback SaboteurCog._fire",
    "at": "callback SaboteurCog._fire",
    "threadsafe": "callback SaboteurCog._fire",
    "done": "callback SaboteurCog._fire",
}
CONFIG = 'command_root = ""\n[features]\nsaboteur = true\n'


async def spring(h: FeatureHarness, kind: str, where: str) -> None:
    """A member sets the trap off, as they would in Discord."""
    if where in ("button", "modal"):
        question = await h.say_message(h.owner, f"!trap {kind} {where}")
        pressed = await h.emu.press_button(question, h.owner, "Press", wait=where == "modal", timeout=10.0)
        if where == "modal":
            assert pressed.modal is not None, "the button answered with no form"
            await h.emu.submit_modal(pressed, {"answer": "yes"}, wait=False)
        return
    assert await h.say(h.owner, f"!trap {kind} {where}") == "armed"
    if where == "listener":
        await h.send(h.owner, "spring")


@pytest.mark.parametrize("where", list(CULPRIT))
async def test_a_base_exception_anywhere_restarts_only_its_instance_and_names_the_callback(
        harness_factory: Any, test_features: None, where: str) -> None:
    victim = await harness_factory(name="victim", config_extra=CONFIG)
    bystander = await harness_factory(name="bystander", config_extra='command_root = ""\n')
    for kind, raised in RAISED.items():
        restarts = victim.runner.status.restarts
        await spring(victim, kind, where)
        await eventually(lambda r=restarts: victim.runner.status.restarts > r, timeout=20)
        assert (await bystander.say(bystander.owner, "!ping")).startswith("Pong")
        await victim.wait_running(timeout=30)
        shown = str(victim.status()["last_error"])  # what `status` shows once the restart is running
        assert CULPRIT[where] in shown and raised in shown, shown
        assert (await victim.say(victim.owner, "!ping")).startswith("Pong")
    assert bystander.runner.status.restarts == 0
