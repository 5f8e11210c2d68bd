"""`discord-supervisor check`: validate every instance folder, without touching the database."""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

from supervisor.access import unreadable_for_folder_owner
from supervisor.config import CONFIG_FILE
from supervisor.envfile import ENV_FILE
from supervisor.fleet_index import scan
from supervisor.instances import InstanceReport, Status
from supervisor.near_misses import hints
from supervisor.needs import other_intents, privileged_intents
from supervisor.settings import SupervisorSettings


def intents_of(report: InstanceReport) -> list[str]:
    """The privileged intents to switch on in the developer portal for this instance's enabled features."""
    return list(privileged_intents(report.config)) if report.config else []


def render_table(reports: list[InstanceReport], out: TextIO) -> None:
    width = max([len("INSTANCE"), *(len(r.name) for r in reports)])
    schema_width = max([len("SCHEMA"), *(len(r.schema or "-") for r in reports)])
    print(f"{'INSTANCE':<{width}}  {'STATUS':<14}  {'SCHEMA':<{schema_width}}  PRIVILEGED INTENTS", file=out)
    for report in reports:
        intents = ", ".join(intents_of(report)) or "-"
        others = list(other_intents(report.config)) if report.config else []
        if others:  # used too, but no portal switch: shown so a reader knows the bot asks for them
            intents += f" (+ {', '.join(others)})"
        print(f"{report.name:<{width}}  {report.status!s:<14}  {report.schema or '-':<{schema_width}}  {intents}",
              file=out)
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
    if os.geteuid() == 0:  # root reads everything: ask whether the daemon's user could
        for report in reports:
            names = [CONFIG_FILE, ENV_FILE, *([report.config.personality_file] if report.config else [])]
            report.warnings.extend(unreadable_for_folder_owner(report.folder, report.name, names))
    failed = any(r.status is Status.INVALID for r in reports)
    near = hints(directory)
    if as_json:
        json.dump({"instances_dir": str(directory), "ok": not failed, "hints": near,
                   "instances": [{**r.as_dict(), "privileged_intents": intents_of(r),
                                  "other_intents": list(other_intents(r.config)) if r.config else []}
                                 for r in reports]}, out, indent=2)
        out.write("\n")
    elif not reports:
        print(f"no instances in {directory} (an instance is a folder with a config.toml)", file=out)
    else:
        render_table(reports, out)
    if not as_json:  # with --json the hints are in the document: stdout must stay one JSON value
        for hint in near:
            print(f"hint: {hint}", file=out)
    return 1 if failed else 0
