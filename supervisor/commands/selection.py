"""Which instances a command acts on: the named ones, or every configured one."""

from __future__ import annotations

from typing import TextIO

from supervisor.fleet_index import scan
from supervisor.instances import InstanceSpec, Status
from supervisor.settings import SupervisorSettings


def select_instances(settings: SupervisorSettings, names: list[str], err: TextIO
                     ) -> tuple[list[InstanceSpec], bool]:
    """Valid specs for `names` (none given: every configured instance), and whether any name could not be used.

    Each unusable name is reported on `err` as `NAME: error: ...`; the others still go ahead.
    """
    reports = {r.name: r for r in scan(settings.instances_dir, settings.database_url)}
    chosen = names or [n for n, r in reports.items() if r.status is not Status.NOT_CONFIGURED]
    specs: list[InstanceSpec] = []
    failed = False
    for name in chosen:
        report = reports.get(name)
        if report is None:
            print(f"{name}: error: no instance folder {name!r} in {settings.instances_dir}", file=err)
            failed = True
        elif report.spec is None:
            reason = "; ".join(str(p) for p in report.problems) or (
                f"it has no .env (copy {name}/.env.example to {name}/.env and put the bot's token in it)"
                if (report.folder / ".env.example").exists() else "it has no .env with the bot's token")
            print(f"{name}: error: {report.status}: {reason}", file=err)
            failed = True
        else:
            specs.append(report.spec)
    return specs, failed
