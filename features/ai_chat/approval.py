"""Approve/Cancel buttons under a model-proposed moderation action: only a member holding the permission the
action needs may press them (others get an ephemeral refusal); no press in 30 seconds expires the proposal."""

from __future__ import annotations

import contextlib

import discord
from supervisor.sdk import GOLD, GREEN, RED

APPROVAL_SECONDS = 30.0
GREY = 0x95A5A6
REFUSED = "You don't have permission to approve this action."


def proposal_embed(description: str, requester: discord.abc.User) -> discord.Embed:
    embed = discord.Embed(title="Confirm Mod Action", description=description, colour=GOLD)
    embed.set_footer(text=f"Requested by {requester.display_name} · Expires in {APPROVAL_SECONDS:.0f}s")
    return embed


def decided_embed(description: str, approved: bool, by: discord.abc.User) -> discord.Embed:
    verdict = "Approved" if approved else "Cancelled"
    embed = discord.Embed(title=f"Mod Action {verdict}", description=description, colour=GREEN if approved else RED)
    embed.set_footer(text=f"{verdict} by {by.display_name}")
    return embed


def expired_embed(description: str) -> discord.Embed:
    embed = discord.Embed(title="Mod Action Expired", description=description, colour=GREY)
    embed.set_footer(text="No response — action cancelled")
    return embed


class Approval(discord.ui.View):
    """`await view.wait()`; then `approved` and `decided_by` tell what happened (`decided_by` None: expired)."""

    def __init__(self, permission: str, description: str, timeout: float = APPROVAL_SECONDS):
        super().__init__(timeout=timeout)
        self.permission = permission
        self.description = description
        self.approved = False
        self.decided_by: discord.Member | None = None
        self.message: discord.Message | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        member = interaction.user
        allowed = isinstance(member, discord.Member) and getattr(member.guild_permissions, self.permission, False)
        if not allowed:
            await interaction.response.send_message(REFUSED, ephemeral=True)
        return bool(allowed)

    async def _decide(self, interaction: discord.Interaction, approved: bool) -> None:
        if self.is_finished():
            return
        assert isinstance(interaction.user, discord.Member)
        self.approved, self.decided_by = approved, interaction.user
        self.stop()
        await interaction.response.edit_message(embed=decided_embed(self.description, approved, interaction.user),
                                                view=None)

    @discord.ui.button(label="Approve", style=discord.ButtonStyle.success)
    async def approve(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._decide(interaction, True)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.danger)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._decide(interaction, False)

    async def on_timeout(self) -> None:
        if self.message is not None and self.decided_by is None:
            with contextlib.suppress(discord.HTTPException):  # deleted meanwhile: nothing left to expire
                await self.message.edit(embed=expired_embed(self.description), view=None)
