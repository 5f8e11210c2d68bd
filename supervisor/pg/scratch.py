"""Throwaway private PostgreSQL servers: the bundled server in a temporary state directory.

Used by the sandbox (unless --keep), the benches and the tests. PostgreSQL refuses to run as root: when we are
root, the state directory goes to `nobody` (the bundled server then runs as that user).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

from supervisor.pg.bundled import BundledPostgres


def give_to_nobody_if_root(path: Path) -> None:
    """As root, hand `path` to `nobody` so the bundled server may use it; otherwise leave it be."""
    if os.geteuid() != 0 or path.stat().st_uid != 0:
        return
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    path.chmod(0o755)


@contextlib.contextmanager
def scratch_state_dir(prefix: str = "ds-scratch-") -> Iterator[Path]:
    """An empty state directory the bundled server can use, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    state = root / "state"
    state.mkdir()
    if os.geteuid() == 0:
        os.chmod(root, 0o755)  # nobody must be able to enter the parent too
        give_to_nobody_if_root(state)
    try:
        yield state
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.asynccontextmanager
async def scratch_server(settings: Mapping[str, str] | None = None, *, prefix: str = "ds-scratch-"
                         ) -> AsyncIterator[BundledPostgres]:
    """A private, started server (settings such as max_connections); stopped and deleted afterwards."""
    with scratch_state_dir(prefix) as state:
        server = BundledPostgres(state, settings)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()
