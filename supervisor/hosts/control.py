"""The control-socket commands of many hosts: drain, undrain, fleet."""

from __future__ import annotations

from typing import Any

from supervisor.hosts.leases import Leases

COMMANDS = ("drain", "undrain", "fleet")


async def handle(leases: Leases, payload: dict[str, Any]) -> dict[str, Any]:
    command = payload.get("command")
    if command == "drain":  # idempotent: the client asks again until nothing it can move is left here
        if not leases.draining:
            leases.log.info("daemon_draining")
        leases.set_draining(True)
        return {"ok": True, **leases.drain_report()}
    if command == "undrain":
        if leases.draining:
            leases.log.info("daemon_undrained")
        leases.set_draining(False)
        return {"ok": True}
    if command == "fleet":
        return {"ok": True, "instances": await leases.fleet()}
    return {"ok": False, "error": f"unknown command {command!r}"}
