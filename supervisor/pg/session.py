"""Databases for one CLI command (backup, restore, check --db): each instance's URL, starting the bundled server
only if an instance needs it, and letting it go at the end (it keeps running if the daemon uses it)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from supervisor.instances import InstanceSpec
from supervisor.pg.bundled import BundledPostgres


class CommandDatabases:
    def __init__(self, state_dir: Path):
        self.bundled = BundledPostgres(state_dir)

    async def url_for(self, spec: InstanceSpec) -> str:
        return spec.database_url or await self.bundled.start()

    def is_bundled(self, spec: InstanceSpec) -> bool:
        return not spec.database_url

    async def __aenter__(self) -> CommandDatabases:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.bundled.stop()
