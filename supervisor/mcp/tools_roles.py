"""Roles."""

from __future__ import annotations

from typing import Any

from supervisor.mcp.catalogue import Call, ToolError, boolean, integer, string, tool


async def role_of(call: Call) -> dict[str, Any]:
    guild = call.require_guild()
    role_id = call.snowflake("role_id")
    roles = await call.api("GET", "/guilds/{guild_id}/roles", guild_id=guild.id)
    for role in roles:
        if int(role["id"]) == role_id:
            return role
    raise ToolError(f"role {role_id} is not in server {guild.id}")


def _role_fields(call: Call) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in call.args:
        fields["name"] = call.text("name", min_length=1, max_length=100)
    if "color" in call.args:
        fields["color"] = call.number("color", low=0, high=0xFFFFFF)
    if "permissions" in call.args:
        fields["permissions"] = str(call.bits("permissions"))
    for key in ("hoist", "mentionable"):
        if call.flag(key) is not None:
            fields[key] = call.flag(key)
    return fields


_FIELDS: dict[str, Any] = {"name": string("1-100 characters"), "color": integer("24-bit colour, e.g. 16711680 for red"),
           "permissions": string("permission bits, decimal"), "hoist": boolean("shown apart in the member list"),
           "mentionable": boolean("anyone may mention it")}


@tool("list_roles", "The server's roles, highest first.")
async def list_roles(call: Call) -> str:
    guild = call.require_guild()
    roles = await call.api("GET", "/guilds/{guild_id}/roles", guild_id=guild.id)
    roles.sort(key=lambda r: (-r.get("position", 0), int(r["id"])))
    lines = [f"{r['name']} | ID: {r['id']} | position {r.get('position', 0)} | color #{r.get('color', 0):06x} | "
             f"permissions {r.get('permissions', '0')}" for r in roles]
    return f"{len(lines)} role(s):\n" + "\n".join(lines)


@tool("create_role", "Create a role.", required=("name",), **_FIELDS)
async def create_role(call: Call) -> str:
    guild = call.require_guild()
    created = await call.api("POST", "/guilds/{guild_id}/roles", guild_id=guild.id, json=_role_fields(call))
    return f"Created role {created['name']} (ID: {created['id']})"


@tool("edit_role", "Change a role's name, colour, permissions, hoist or mentionable flag.", required=("role_id",),
      role_id=string("role ID"), **_FIELDS)
async def edit_role(call: Call) -> str:
    role = await role_of(call)
    fields = _role_fields(call)
    if not fields:
        raise ToolError("nothing to change: give at least one field")
    edited = await call.api("PATCH", "/guilds/{guild_id}/roles/{role_id}", guild_id=call.require_guild().id,
                            role_id=role["id"], json=fields)
    return f"Updated role {edited['name']} ({edited['id']}): {', '.join(sorted(fields))}"


@tool("delete_role", "Delete a role.", required=("role_id",), role_id=string("role ID"))
async def delete_role(call: Call) -> str:
    role = await role_of(call)
    await call.api("DELETE", "/guilds/{guild_id}/roles/{role_id}", guild_id=call.require_guild().id,
                   role_id=role["id"])
    return f"Deleted role {role['name']} ({role['id']})"
