"""Donator sync: the supporter and premium roles follow the plugin's list.

Members and their roles come from the bot's member cache (the `members` intent keeps it current; a guild not
yet chunked is chunked over the gateway), so one sync calls Discord only for the roles that change: a guild of
any size where nothing changed costs no Discord call at all. Holders of the chargeback `restricted_role` are
left alone, as in the original.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import discord
from supervisor.sdk import FeatureContext

from .plugin import NotConfigured, Plugin, PluginError

FIRST_SYNC_DELAY = 15.0  # the original's start delay
TIERS = ("supporter", "premium")


@dataclass
class Change:
    member: discord.Member
    role: discord.Role
    add: bool
    reason: str


def plan(members: list[discord.Member], wanted: Mapping[int, str], roles: Mapping[str, discord.Role],
         restricted: int | None) -> list[Change]:
    """Every role to add or remove so each member holds exactly the role of their tier (none off the list)."""
    changes = []
    for member in members:
        held = {role.id for role in member.roles}
        if member.bot or (restricted is not None and restricted in held):
            continue
        tier = wanted.get(member.id)
        for name, role in roles.items():
            has = role.id in held
            if tier == name and not has:
                changes.append(Change(member, role, True, f"Donator sync: {name} tier"))
            elif tier != name and has:
                changes.append(Change(member, role, False, _removal_reason(name, tier)))
    return changes


def _removal_reason(name: str, tier: str | None) -> str:
    if tier is None:
        return f"Donator sync: {name} expired"
    return "Donator sync: upgraded to premium" if tier == "premium" else "Donator sync: downgraded to supporter"


class DonatorSync:
    def __init__(self, ctx: FeatureContext, plugin: Plugin):
        self.ctx = ctx
        self.plugin = plugin

    def interval(self) -> float:
        config = self.ctx.settings.get("donator_sync_config") or {}
        return float(config.get("check_interval", 300))

    def enabled(self) -> bool:
        settings = self.ctx.settings
        return bool(settings.get("donator_sync")) and settings.get("donator_sync_config") is not None

    async def round(self) -> None:
        if not self.enabled():
            return
        config: Mapping[str, Any] = self.ctx.settings["donator_sync_config"]
        try:
            donators = await self.plugin.donators()
        except NotConfigured as error:
            self.ctx.warn("donator-sync", str(error))
            return
        except PluginError as error:
            self.ctx.log.warning("donator_sync_failed", reason=str(error))
            self.ctx.warn("donator-sync", f"donator sync: the MC plugin failed: {error}")
            return
        guild, roles = self._roles(int(config["supporter_role"]), int(config["premium_role"]))
        if guild is None:
            self.ctx.warn("donator-sync", "donator sync: supporter_role or premium_role is not a role of any "
                                          "server this bot is in")
            return
        self.ctx.clear_warning("donator-sync")
        wanted = self._wanted(donators)
        if not guild.chunked:
            await guild.chunk()  # over the gateway, once; the members intent keeps the cache current after that
        chargeback = self.ctx.settings.get("chargeback_config") or {}
        restricted = int(chargeback["restricted_role"]) if chargeback.get("restricted_role") else None
        changes = plan(list(guild.members), wanted, roles, restricted)
        failed = 0
        for change in changes:
            try:
                if change.add:
                    await change.member.add_roles(change.role, reason=change.reason)
                else:
                    await change.member.remove_roles(change.role, reason=change.reason)
            except discord.HTTPException as error:
                failed += 1
                self.ctx.log.warning("donator_role_change_failed", user_id=change.member.id, role_id=change.role.id,
                                     add=change.add, status=error.status)
        self.ctx.log.info("donator_sync_done", listed=len(wanted), changes=len(changes), failed=failed)

    def _roles(self, supporter: int, premium: int) -> tuple[discord.Guild | None, dict[str, discord.Role]]:
        """The guild both roles belong to (GUILD_ID is not needed: a role names its guild)."""
        for guild in self.ctx.bot.guilds:
            found = {"supporter": guild.get_role(supporter), "premium": guild.get_role(premium)}
            if all(found.values()):
                return guild, {name: role for name, role in found.items() if role is not None}
        return None, {}

    def _wanted(self, donators: list[dict[str, Any]]) -> dict[int, str]:
        wanted: dict[int, str] = {}
        unknown: Counter[str] = Counter()
        for donator in donators:
            discord_id, tier = str(donator.get("discord_id", "")), str(donator.get("tier", ""))
            if not discord_id.isdigit():
                continue
            if tier not in TIERS:
                unknown[tier] += 1
                continue
            if wanted.get(int(discord_id)) != "premium":  # listed twice: the higher tier wins
                wanted[int(discord_id)] = tier
        if unknown:
            self.ctx.log.warning("donator_unknown_tiers", tiers=dict(unknown))
        return wanted
