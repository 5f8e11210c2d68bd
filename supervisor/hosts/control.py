"""The control-socket commands of many hosts (entries of the daemon's command table): drain, undrain, fleet."""

from __future__ import annotations

from supervisor.daemon.control_table import Answer, ControlCommand
from supervisor.hosts.leases import Leases


def table(leases: Leases) -> dict[str, ControlCommand]:
    async def drain() -> Answer:  # idempotent: the client asks again until nothing it can move is left here
        if not leases.draining:
            leases.log.info("daemon_draining")
        leases.set_draining(True)
        return {"ok": True, **leases.drain_report()}

    async def undrain() -> Answer:
        if leases.draining:
            leases.log.info("daemon_undrained")
        leases.set_draining(False)
        return {"ok": True}

    async def fleet() -> Answer:
        return {"ok": True, "instances": await leases.fleet()}

    return {
        "drain": ControlCommand(drain, summary="hand every instance to the other daemons; what is still here"),
        "undrain": ControlCommand(undrain, summary="take a share of the instances again"),
        "fleet": ControlCommand(fleet, summary="every instance of every daemon on the same databases"),
    }
