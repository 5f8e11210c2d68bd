"""Modals: a bot answers a button press with a form (callback type 9); the member fills it in and submits it,
which reaches the bot as a new INTERACTION_CREATE of type 5 (MODAL_SUBMIT) carrying the form's values."""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .interactions import Interaction, Interactions

MODAL = 9  # the callback type that shows a form
MODAL_SUBMIT = 5  # the interaction type of a submitted form
TEXT_INPUT = 4


def submit(interactions: Interactions, shown: Interaction, values: dict[str, str]) -> Interaction:
    """The member who saw `shown`'s form submits it with `values` (text input custom_id -> text)."""
    form = shown.modal
    if form is None:
        raise ValueError("that interaction showed no form: the bot did not answer it with a modal")
    # Each text input sits in an action row (type 1, "components") or a label (type 18, "component").
    rows = form.get("components", [])
    inputs = [c for row in rows for c in ([row["component"]] if "component" in row else row.get("components", []))]
    unknown = set(values) - {str(c.get("custom_id")) for c in inputs}
    if unknown:
        raise ValueError(f"the form has no text input {sorted(unknown)}")
    interaction = replace(
        shown, id=interactions.state.ids.next(), token=f"emulator-interaction-{secrets.token_urlsafe(32)}",
        custom_id=str(form.get("custom_id")), response_type=None, failed=False, original_id=None,
        fill_deferred=False, messages=[], modal=None, expires_at=time.monotonic() + 15 * 60.0,
    )
    interaction.answered = type(shown.answered)()
    submitted = [{"type": 1, "components": [{"type": TEXT_INPUT, "custom_id": str(c.get("custom_id")),
                                         "value": values.get(str(c.get("custom_id")), "")}]} for c in inputs]
    data = {"custom_id": interaction.custom_id, "components": submitted}
    payload: dict[str, Any] = {**shown.payload, "id": str(interaction.id), "token": interaction.token,
                               "type": MODAL_SUBMIT, "data": data}
    interaction.payload = payload
    interactions.records[interaction.id] = interaction
    interactions._by_token[interaction.token] = interaction
    interactions.ops.gateway.dispatch_bot(interaction.app.user.id, interaction.guild_id, "INTERACTION_CREATE",
                                          payload)
    return interaction
