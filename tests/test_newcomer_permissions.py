"""Permissions a newcomer trips over, with what they see: `new` in a folder they may not write to, and an `.env`
the daemon's user cannot read (as that user, and as root running `check` for it)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from supervisor.commands import check, new
from supervisor.settings import SupervisorSettings
from tests.support import GOOD_ENV, InstanceFolders, run_check

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")

NOBODY = 65534


@contextlib.contextmanager
def acting_as_nobody() -> Iterator[None]:
    """File access as the unprivileged user `nobody` (the effective uid decides), for the block's duration."""
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """Outside pytest's /tmp/pytest-of-root, which is root's alone (0700)."""
    path = Path(tempfile.mkdtemp(prefix="ds-perm-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_new_in_a_folder_the_user_may_not_write_says_so(world_readable_dir: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root_owned = world_readable_dir / "instances"
    root_owned.mkdir()
    with acting_as_nobody():
        code = new.run(SupervisorSettings(root_owned, None), "mybot", out=io.StringIO())
    assert code == 1
    said = capsys.readouterr().err
    assert f"error: cannot create {root_owned}/mybot: {root_owned} is not writable by nobody" in said, said
    assert "sudo" in said


def test_an_env_the_service_user_cannot_read_is_explained(world_readable_dir: Path) -> None:
    instances = InstanceFolders(world_readable_dir / "instances")
    folder = instances.make("svc", env=GOOD_ENV)
    for path in (instances.root, folder):
        path.chmod(0o755)
    os.chown(folder, NOBODY, NOBODY)  # the service user's folder (as `new --owner` makes it)...
    for name in ("config.toml", "personality.txt"):
        os.chown(folder / name, NOBODY, NOBODY)
    (folder / ".env").chmod(0o600)  # ...but an .env root wrote afterwards: root's, mode 0600
    # Root's `check` reads it fine, and says the service user cannot.
    _code, output = run_check(instances.root)
    assert "warning: svc/.env: the daemon's user nobody (who owns svc) cannot read it (owner root, mode 0600)" \
        in output, output
    assert f"chown nobody {folder / '.env'}" in output
    # The service user's own `check` says what to do, not just "Permission denied".
    out = io.StringIO()
    with acting_as_nobody():
        code = check.run(SupervisorSettings(instances.root, None), as_json=False, out=out)
    assert code == 1
    assert f"svc/.env: cannot be read by nobody (owner root, mode 0600): chown nobody {folder / '.env'}" \
        in out.getvalue(), out.getvalue()
