"""Throwaway private PostgreSQL servers for the tests and the bench (not shipped with the package): the
bundled server in a temporary state directory."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

from supervisor.pg.bundled import BundledPostgres


@contextlib.contextmanager
def scratch_state_dir(prefix: str = "ds-scratch-") -> Iterator[Path]:
    """An empty state directory the bundled server can use, removed afterwards.

    PostgreSQL will not run as root; when we are root the directory goes to `nobody` (the server then runs as
    nobody) inside a parent that nobody may enter.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    state = root / "state"
    state.mkdir()
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(state, nobody.pw_uid, nobody.pw_gid)
    try:
        yield state
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.asynccontextmanager
async def scratch_server(settings: Mapping[str, str] | None = None) -> AsyncIterator[BundledPostgres]:
    """A private, started server (settings such as max_connections); stopped and deleted afterwards."""
    with scratch_state_dir() as state:
        server = BundledPostgres(state, settings)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()
