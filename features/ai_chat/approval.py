"""Approve/Cancel under a model-proposed moderation action, on the kit's Confirm buttons: only a member holding
the permission the action needs may press (others get an ephemeral refusal); no press in 30 seconds expires it.
The embed then says who approved or cancelled, or that it expired."""

from __future__ import annotations

import contextlib

import discord
from supervisor.sdk import GOLD, GREEN, RED, Confirm, FeatureContext

APPROVAL_SECONDS = 30.0
APPROVAL_SECONDS_OPTION = "ai_approval_seconds"  # hidden supervisor option: tests shorten the wait
GREY = 0x95A5A6
REFUSED = "You don't have permission to approve this action."


def approval_seconds(ctx: FeatureContext) -> float:
    try:
        return float(ctx.supervisor_setting(APPROVAL_SECONDS_OPTION) or APPROVAL_SECONDS)
    except ValueError:
        return APPROVAL_SECONDS


def proposal_embed(description: str, requester: discord.abc.User, seconds: float) -> discord.Embed:
    embed = discord.Embed(title="Confirm Mod Action", description=description, colour=GOLD)
    embed.set_footer(text=f"Requested by {requester.display_name} · Expires in {seconds:.0f}s")
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


async def ask_approval(ctx: FeatureContext, request: discord.Message, permission: str, description: str,
                       allowed_mentions: discord.AllowedMentions) -> tuple[discord.Message, discord.abc.User | None]:
    """Post the proposal and wait. Returns (the proposal message, the approver) — approver None unless approved."""
    seconds = approval_seconds(ctx)
    view = Confirm(permission=permission, timeout=seconds, confirm_label="Approve", cancel_label="Cancel",
                   refusal=REFUSED)
    view.message = await request.reply(embed=proposal_embed(description, request.author, seconds), view=view,
                                       mention_author=False, allowed_mentions=allowed_mentions)
    outcome = await view.result()
    if outcome == "timed_out" or view.pressed_by is None:
        embed = expired_embed(description)
    else:
        embed = decided_embed(description, outcome == "confirmed", view.pressed_by)
    for item in view.children:  # the same disabled buttons Confirm shows, whichever edit lands last
        if isinstance(item, discord.ui.Button):
            item.disabled = True
    with contextlib.suppress(discord.HTTPException):  # deleted meanwhile: the outcome stands
        await view.message.edit(embed=embed, view=view)
    return view.message, view.pressed_by if outcome == "confirmed" else None
