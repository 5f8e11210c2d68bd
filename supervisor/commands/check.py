"""`discord-supervisor check`: validate every instance folder, without touching the database."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from supervisor.instances import InstanceReport, Status, scan
from supervisor.settings import SupervisorSettings


def render_table(reports: list[InstanceReport], out: TextIO) -> None:
    width = max([len("INSTANCE"), *(len(r.name) for r in reports)])
    print(f"{'INSTANCE':<{width}}  {'STATUS':<14}  SCHEMA", file=out)
    for report in reports:
        print(f"{report.name:<{width}}  {report.status!s:<14}  {report.schema or '-'}", file=out)
        for problem in report.problems:
            print(f"  {problem}", file=out)
        for warning in report.warnings:
            print(f"  warning: {warning}", file=out)


def run(settings: SupervisorSettings, as_json: bool, out: TextIO = sys.stdout) -> int:
    directory = settings.instances_dir
    if not directory.is_dir():
        print(f"error: instances directory {str(directory)!r} does not exist (set --instances)", file=sys.stderr)
        return 1
    reports = scan(directory, settings.database_url)
    failed = any(r.status is Status.INVALID for r in reports)
    if as_json:
        json.dump({"instances_dir": str(directory), "ok": not failed,
                   "instances": [r.as_dict() for r in reports]}, out, indent=2)
        out.write("\n")
    elif not reports:
        print(f"no instances in {directory} (an instance is a folder with a config.toml)", file=out)
    else:
        render_table(reports, out)
    return 1 if failed else 0
