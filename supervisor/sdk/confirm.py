"""`Confirm`: Confirm/Cancel buttons that only the right people may press, for actions worth a second thought.

    view = Confirm(allowed=[ctx.author.id])
    await view.send(ctx, "Delete every position?")
    if await view.result() == "confirmed":
        ...

Anyone else who presses gets an ephemeral refusal and nothing changes. One press, or the timeout, ends it:
the buttons are disabled on the message so nobody can press again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any, Literal

import discord

Outcome = Literal["confirmed", "cancelled", "timed_out"]

DEFAULT_REFUSAL = "Only the member who asked can use these buttons."


class Confirm(discord.ui.View):
    """A two-button question. `allowed` user ids, or anyone holding `permission` in the channel, may answer.

    With neither, anyone may answer. `outcome` and `pressed_by` say what happened; `message` is the message the
    buttons are on (set by `send`, or by the caller after sending the view itself).
    """

    def __init__(
        self,
        *,
        allowed: Iterable[int] = (),
        permission: str | None = None,
        timeout: float = 30.0,
        confirm_label: str = "Confirm",
        cancel_label: str = "Cancel",
        refusal: str = DEFAULT_REFUSAL,
    ) -> None:
        super().__init__(timeout=timeout)
        if permission is not None and permission not in discord.Permissions.VALID_FLAGS:
            raise ValueError(f"unknown permission {permission!r}")
        self.allowed = frozenset(allowed)
        self.permission = permission
        self.refusal = refusal
        self.outcome: Outcome | None = None
        self.pressed_by: discord.User | discord.Member | None = None
        self.message: discord.Message | None = None
        self.confirm_button: discord.ui.Button[Confirm] = discord.ui.Button(
            label=confirm_label, style=discord.ButtonStyle.danger
        )
        self.cancel_button: discord.ui.Button[Confirm] = discord.ui.Button(
            label=cancel_label, style=discord.ButtonStyle.secondary
        )
        self.confirm_button.callback = self._confirm  # type: ignore[method-assign]
        self.cancel_button.callback = self._cancel  # type: ignore[method-assign]
        self.add_item(self.confirm_button)
        self.add_item(self.cancel_button)

    @property
    def confirmed(self) -> bool:
        return self.outcome == "confirmed"

    async def send(self, destination: discord.abc.Messageable, content: str | None = None, **kwargs: Any
                   ) -> discord.Message:
        """Send the question with these buttons (a channel, a member, or a commands.Context)."""
        self.message = await destination.send(content, view=self, **kwargs)
        return self.message

    async def result(self) -> Outcome:
        """Wait for a press or the timeout."""
        await self.wait()
        return self.outcome or "timed_out"

    def may_press(self, interaction: discord.Interaction) -> bool:
        if not self.allowed and self.permission is None:
            return True
        if interaction.user.id in self.allowed:
            return True
        return self.permission is not None and bool(getattr(interaction.permissions, self.permission, False))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if self.may_press(interaction):
            return True
        await interaction.response.send_message(self.refusal, ephemeral=True)
        return False

    async def _confirm(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction, "confirmed")

    async def _cancel(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction, "cancelled")

    async def _answer(self, interaction: discord.Interaction, outcome: Outcome) -> None:
        if self.outcome is not None:
            # Two allowed members pressed at once: the first answer stands.
            await interaction.response.defer()
            return
        self.outcome = outcome
        self.pressed_by = interaction.user
        self._disable()
        self.stop()
        await interaction.response.edit_message(view=self)

    async def on_timeout(self) -> None:
        if self.outcome is not None:
            return
        self.outcome = "timed_out"
        self._disable()
        if self.message is not None:
            # A message that is gone or unreachable has no buttons left to disable.
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)

    def _disable(self) -> None:
        self.confirm_button.disabled = True
        self.cancel_button.disabled = True
