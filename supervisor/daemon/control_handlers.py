"""The daemon's control commands (see control_table): status, reload, restart, pause, resume, database, MCP."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from supervisor.daemon.control_table import Answer, Arg, ControlCommand
from supervisor.dburl import database_identity
from supervisor.mcp.router import tool_listing

if TYPE_CHECKING:
    from supervisor.daemon.main import Daemon


class ControlHandlers:
    """One method per command; `table()` lists them with their arguments."""

    def __init__(self, daemon: Daemon):
        self.daemon = daemon

    def table(self) -> dict[str, ControlCommand]:
        return {
            "ping": ControlCommand(self.ping, summary="is a daemon listening"),
            "status": ControlCommand(self.status, summary="every instance's status"),
            "reload": ControlCommand(self.reload, {"names": Arg("names", required=False)},
                                     "rescan every instance folder, or the named ones"),
            "restart": ControlCommand(self.restart, {"name": Arg("name")}, "restart one instance"),
            "pause": ControlCommand(self.pause, {"name": Arg("name")}, "stop one instance and keep it stopped"),
            "resume": ControlCommand(self.resume, {"name": Arg("name")}, "start a paused instance again"),
            "database": ControlCommand(self.database, {"name": Arg("name")},
                                       "the database and schema an instance is kept in (restore checks)"),
            "mcp_tools": ControlCommand(self.mcp_tools, summary="the MCP tools"),
            "mcp_call": ControlCommand(self.mcp_call, {"tool": Arg("string"), "arguments": Arg("object", False)},
                                       "call one MCP tool"),
        }

    async def ping(self) -> Answer:
        return {"ok": True}

    async def mcp_tools(self) -> Answer:
        return {"ok": True, "tools": tool_listing()}

    async def mcp_call(self, tool: str, arguments: dict[str, Any] | None = None) -> Answer:
        outcome = await self.daemon.mcp.call(tool, arguments or {})
        answer: Answer = {"ok": True, "text": outcome.text, "is_error": outcome.is_error}
        if not outcome.here:
            answer["not_here"] = True  # a `run --workers` parent asks the next worker
        return answer

    async def status(self) -> Answer:
        fleet = self.daemon.fleet
        instances = fleet.statuses()
        for item in instances:  # event-loop stalls this instance's code caused (the watchdog's count)
            item["loop_stalls"] = self.daemon.watchdog.count_for(str(item["name"]))
        return {"ok": True, "instances": instances, "counts": fleet.counts()}

    async def reload(self, names: list[str] | None = None) -> Answer:
        if not names:
            await self.daemon.rescan("reload")  # the same as SIGHUP, systemd notifications included
            return {"ok": True}
        fleet = self.daemon.fleet
        chosen = set(names)
        unheard = chosen - set(fleet.reports) - set(fleet.runners)
        unknown = sorted(await asyncio.to_thread(lambda: {n for n in unheard if not self.daemon.is_folder(n)}))
        if unknown:
            return {"ok": False, "error": f"no such instance: {', '.join(unknown)}"}
        await fleet.reconcile(chosen)
        return {"ok": True}

    async def restart(self, name: str) -> Answer:
        fleet = self.daemon.fleet
        if await fleet.restart(name):
            return {"ok": True}
        report = fleet.reports.get(name)
        if report is None:
            known = ", ".join(sorted(fleet.reports)) or "none"
            return {"ok": False, "error": f"no instance {name!r} in {self.daemon.settings.instances_dir} "
                    f"(instances: {known})"}
        why = "; ".join(str(p) for p in report.problems) or "it has no .env"
        return {"ok": False, "error": f"instance {name!r} is not running: {report.status}: {why}"}

    async def pause(self, name: str) -> Answer:
        ok = await self.daemon.fleet.pause(name)
        return {"ok": True} if ok else {"ok": False, "error": f"no such instance: {name}"}

    async def resume(self, name: str) -> Answer:
        await self.daemon.fleet.resume(name)
        return {"ok": True}

    async def database(self, name: str) -> Answer:
        fleet = self.daemon.fleet
        report = fleet.reports.get(name)
        runner = fleet.runners.get(name)
        spec = runner.spec if runner else (report.spec if report else None)
        if spec is None:
            return {"ok": False, "error": f"no valid instance {name!r}"}
        return {"ok": True, "database": list(database_identity(spec.database_url)), "schema": spec.schema}
