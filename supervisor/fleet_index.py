"""The fleet rules, kept incrementally: no two instances may share a token, or a schema on one database.

Each instance is validated alone (its own files); the index then knows, per token and per (database, schema),
which instances hold it. Replacing one instance's report touches only the instances that share a key with its
old or new files, so one edit costs the same with 1,000 instances as with 10.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from supervisor.instances import InstanceReport, RuleKey, Status, conflict_problem, load_all, rule_keys


class FleetIndex:
    """Every instance's report as validated alone, and who holds each token and schema."""

    def __init__(self, reports: Iterable[InstanceReport] = ()):
        self._loaded: dict[str, InstanceReport] = {}
        self._keys: dict[str, tuple[RuleKey, ...]] = {}
        self._holders: dict[RuleKey, set[str]] = {}
        for report in reports:
            self.put(report.name, report)

    def put(self, name: str, report: InstanceReport | None) -> set[str]:
        """Replace one instance's report (None: its folder is gone or no longer an instance).

        Returns the instances whose verdict may have changed: this one and every one sharing a token or a
        schema with its old or its new files.
        """
        touched = {name}
        for key in self._keys.pop(name, ()):
            holders = self._holders[key]
            holders.discard(name)
            touched |= holders
            if not holders:
                del self._holders[key]
        self._loaded.pop(name, None)
        if report is None:
            return touched
        self._loaded[name] = report
        if report.spec is not None:
            keys = rule_keys(report.spec)
            self._keys[name] = keys
            for key in keys:
                holders = self._holders.setdefault(key, set())
                touched |= holders
                holders.add(name)
        return touched

    def report(self, name: str) -> InstanceReport | None:
        """The instance's report with the fleet rules applied (a fresh object when a rule rejects it)."""
        loaded = self._loaded.get(name)
        if loaded is None or loaded.spec is None:
            return loaded
        problems = [
            conflict_problem(name, loaded.spec, key[0], other)
            for key in self._keys[name]
            for other in sorted(self._holders[key] - {name})
        ]
        if not problems:
            return loaded
        return dataclasses.replace(loaded, status=Status.INVALID, problems=[*loaded.problems, *problems], spec=None)

    def reports(self) -> list[InstanceReport]:
        """Every instance's report with the fleet rules applied, sorted by name."""
        return [report for name in sorted(self._loaded) if (report := self.report(name)) is not None]


def scan(instances_dir: Path, supervisor_database_url: str | None, *, sandbox: bool = False
         ) -> list[InstanceReport]:
    """Every instance folder, validated alone and then against the others, sorted by name."""
    return FleetIndex(load_all(instances_dir, supervisor_database_url, sandbox=sandbox)).reports()
