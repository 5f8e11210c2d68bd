"""The chargeback webhook and its staff alert.

POST /webhook/chargeback (Bearer MC_VERIFY_SECRET) with `{uuid, username, discord_id?, tier, timestamp}`: a
linked member keeps only `restricted_role` (and roles Discord manages, which no bot can take away), and an alert
with Ban and Dismiss buttons goes to `staff_channel`. Only members holding one of `staff_roles` may press them.

Done right where the original was not: the buttons carry the player's UUID and Discord ID themselves (the
original read the ID back out of the embed's text); one press wins (a second one is told the alert was handled);
a failed Discord ban is reported like a failed MC ban; an alert that could not be posted answers 500, so the
plugin knows; the guild is the staff channel's (no GUILD_ID needed).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import discord
from supervisor.sdk import FeatureContext, KeyedLocks, WebhookRequest, WebhookResponse

from .plugin import NotConfigured, Plugin

ALERT_COLOUR = 0xE74C3C
CLOSED_COLOUR = 0x2C2F33
TITLE = "⚠️ CHARGEBACK ALERT"
NO_PERMISSION = "You don't have permission to do this."
ALREADY_HANDLED = "This alert was already handled."
_UUID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
_TIERS = {"supporter": "Supporter", "premium": "Premium"}


@dataclass(frozen=True)
class Chargeback:
    uuid: str
    username: str
    discord_id: int | None
    tier: str
    timestamp: str


def parse_payload(body: bytes) -> Chargeback | str:
    """The payload, or why it is refused (400)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    if not isinstance(data, dict):
        return "body must be a JSON object"
    for key in ("uuid", "username", "tier", "timestamp"):
        if not isinstance(data.get(key), str):
            return f"missing string field `{key}`"
    if not _UUID.match(data["uuid"]):
        return "`uuid` must be letters, digits and dashes"
    raw_id = data.get("discord_id")
    discord_id = None
    if raw_id not in (None, ""):
        if not str(raw_id).isdigit():
            return "`discord_id` must be a Discord ID"
        discord_id = int(str(raw_id))
    return Chargeback(data["uuid"], data["username"][:256], discord_id, data["tier"][:64], data["timestamp"][:64])


def alert_embed(chargeback: Chargeback) -> discord.Embed:
    linked = chargeback.discord_id is not None
    embed = discord.Embed(title=TITLE, colour=ALERT_COLOUR)
    embed.add_field(name="Player", value=chargeback.username or "?", inline=True)
    embed.add_field(name="Tier", value=_TIERS.get(chargeback.tier, chargeback.tier) or "?", inline=True)
    embed.add_field(name="Discord", value=f"<@{chargeback.discord_id}> ({chargeback.discord_id})" if linked
                    else "Not linked", inline=False)
    embed.add_field(name="MC UUID", value=chargeback.uuid, inline=False)
    embed.add_field(name="Time", value=chargeback.timestamp or "?", inline=False)
    embed.set_footer(text="All roles stripped. User restricted." if linked
                     else "No Discord account linked. MC-side actions only.")
    return embed


def alert_buttons(chargeback: Chargeback) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    linked = chargeback.discord_id is not None
    target = f"{chargeback.uuid}:{chargeback.discord_id or 0}"
    view.add_item(discord.ui.Button(label="🔨 Ban" if linked else "🔨 Ban MC", style=discord.ButtonStyle.danger,
                                    custom_id=f"cb_ban:{target}"))
    view.add_item(discord.ui.Button(label="❌ Dismiss", style=discord.ButtonStyle.secondary,
                                    custom_id=f"cb_dismiss:{target}"))
    return view


def closed_embed(message: discord.Message | None, footer: str) -> discord.Embed:
    """The alert as it was, greyed out, its footer saying who closed it."""
    old = message.embeds[0] if message is not None and message.embeds else discord.Embed(title=TITLE)
    embed = discord.Embed(title=old.title, colour=CLOSED_COLOUR)
    for item in old.fields:
        embed.add_field(name=item.name or "", value=item.value or "", inline=bool(item.inline))
    embed.set_footer(text=footer)
    return embed


class Chargebacks:
    def __init__(self, ctx: FeatureContext, plugin: Plugin):
        self.ctx = ctx
        self.plugin = plugin
        self.locks = KeyedLocks()
        self.closed: set[int] = set()  # alerts answered during this run (the message keeps no buttons after)

    def _config(self) -> Mapping[str, Any] | None:
        settings = self.ctx.settings
        return settings.get("chargeback_config") if settings.get("chargeback") else None

    # -- the webhook ---------------------------------------------------------------------------------
    async def webhook(self, request: WebhookRequest) -> WebhookResponse:
        config = self._config()
        try:
            _, secret = self.plugin.configured()
        except NotConfigured:
            secret = None
        if config is None or secret is None or request.method != "POST":
            return WebhookResponse(404, {"error": "Not Found"})  # not mounted, as in the original
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {secret}".encode()):
            return WebhookResponse(401, {"error": "Unauthorized"})
        chargeback = parse_payload(request.body)
        if isinstance(chargeback, str):
            return WebhookResponse(400, {"success": False, "error": chargeback})
        self.ctx.log.info("chargeback_received", tier=chargeback.tier, linked=chargeback.discord_id is not None)
        channel = self.ctx.bot.get_channel(int(config["staff_channel"]))
        restricted = channel.guild.get_role(int(config["restricted_role"])) \
            if isinstance(channel, discord.TextChannel) else None
        if not isinstance(channel, discord.TextChannel) or restricted is None:
            self.ctx.log.error("chargeback_config_error", staff_channel=config["staff_channel"],
                               restricted_role=config["restricted_role"])
            return WebhookResponse(500, {"success": False, "error": "Server config error"})
        if chargeback.discord_id is not None:
            await self._restrict(channel.guild, chargeback.discord_id, restricted)
        try:
            await channel.send(embed=alert_embed(chargeback), view=alert_buttons(chargeback))
        except discord.HTTPException as error:
            self.ctx.log.error("chargeback_alert_failed", status=error.status, code=error.code)
            return WebhookResponse(500, {"success": False, "error": "the staff alert could not be posted"})
        return WebhookResponse(200, {"success": True})

    async def _restrict(self, guild: discord.Guild, user_id: int, restricted: discord.Role) -> None:
        member = guild.get_member(user_id)
        try:
            if member is None:
                member = await guild.fetch_member(user_id)
            kept = [role for role in member.roles if role.managed]  # a booster's or integration's role stays
            await member.edit(roles=[*kept, restricted], reason="Chargeback: roles stripped, user restricted")
        except discord.NotFound:
            self.ctx.log.info("chargeback_member_not_in_guild", user_id=user_id)
        except discord.HTTPException as error:
            self.ctx.log.warning("chargeback_restrict_failed", user_id=user_id, status=error.status)

    # -- the buttons ---------------------------------------------------------------------------------
    async def on_press(self, interaction: discord.Interaction) -> None:
        data: Mapping[str, Any] = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        action, _, target = custom_id.partition(":")
        uuid, _, raw_id = target.rpartition(":")
        if action not in ("cb_ban", "cb_dismiss") or not uuid:
            return
        config = self.ctx.settings.get("chargeback_config") or {}
        staff = {int(role) for role in config.get("staff_roles", [])}
        member = interaction.user
        if not isinstance(member, discord.Member) or not staff & {role.id for role in member.roles}:
            await interaction.response.send_message(NO_PERMISSION, ephemeral=True)
            return
        message_id = interaction.message.id if interaction.message else 0
        async with self.locks.hold(message_id):
            if message_id in self.closed:
                await interaction.response.send_message(ALREADY_HANDLED, ephemeral=True)
                return
            self.closed.add(message_id)
            if action == "cb_dismiss":
                await interaction.response.edit_message(
                    embed=closed_embed(interaction.message, f"Dismissed by {member.name}"), view=None)
                self.ctx.log.info("chargeback_dismissed", staff_id=member.id)
                return
            await interaction.response.defer()  # the bans may take longer than an interaction's 3 s
            discord_id = int(raw_id) if raw_id.isdigit() and int(raw_id) else None
            await self._ban(interaction, member, uuid, discord_id)
            await interaction.edit_original_response(
                embed=closed_embed(interaction.message, f"Banned by {member.name}"), view=None)

    async def _ban(self, interaction: discord.Interaction, staff: discord.Member, uuid: str,
                   discord_id: int | None) -> None:
        guild = interaction.guild
        config = self.ctx.settings.get("chargeback_config") or {}
        staff_channel = config.get("staff_channel")
        channel = (self.ctx.bot.get_channel(int(staff_channel)) if staff_channel else None) or interaction.channel
        notices = []
        if discord_id is not None and guild is not None:
            try:
                await guild.ban(discord.Object(discord_id), reason=f"Chargeback ban by {staff.name}",
                                delete_message_seconds=0)
            except discord.HTTPException as error:
                notices.append(f"⚠️ Discord ban failed for <@{discord_id}>: {error.text or error.status}")
        outcome = await self.plugin.ban(uuid, f"Chargeback ban issued by Discord staff ({staff.name})")
        if not outcome.ok:
            notices.append(f"⚠️ MC ban failed for UUID `{uuid}`: {outcome.detail}")
        self.ctx.log.info("chargeback_banned", staff_id=staff.id, discord_ban=discord_id is not None,
                          mc_ban=outcome.ok)
        if notices and isinstance(channel, discord.abc.Messageable):
            try:
                await channel.send("\n".join(notices), allowed_mentions=discord.AllowedMentions.none())
            except discord.HTTPException as error:
                self.ctx.log.warning("chargeback_notice_failed", status=error.status)
