"""`pip install .` from a clean clone gives a working CLI that never reads the working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.migrator import load_migrations
from tests.support import REPO, InstanceFolders

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a pip install into a fresh venv


def test_pip_install_from_clean_clone_gives_working_cli(tmp_path: Path, instances: InstanceFolders,
                                                        database_url: str, schemas: list[str], unique) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    # The working tree may hold uncommitted work under test; copy it over the clone's committed files.
    for relative in ("pyproject.toml", "README.md"):
        (clone / relative).write_bytes((REPO / relative).read_bytes())
    for package in ("supervisor", "features", "migrations"):
        subprocess.run(["cp", "-r", str(REPO / package), str(clone)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Our dependencies come from the test environment (a plain path, so its editable hook is not loaded);
    # the package itself is built and installed fresh from the clone.
    site_packages = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    test_site = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "asyncpg").is_dir())
    (site_packages / "test_dependencies.pth").write_text(test_site + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(clone)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stdout + install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    schema = unique("install")
    schemas.append(schema)
    instances.make("bot", env={"DISCORD_TOKEN": "t", "DB_SCHEMA": schema, "DATABASE_URL": database_url})
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}
    script = venv / "bin" / "discord-supervisor"
    check = subprocess.run([str(script), "check", "--instances", str(instances.root)],
                           cwd=elsewhere, capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "bot" in check.stdout and " ok " in check.stdout
    migrate = subprocess.run([str(script), "migrate", "--instances", str(instances.root)],
                             cwd=elsewhere, capture_output=True, text=True, env=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert f"applied {len(load_migrations())}:" in migrate.stdout  # every migration the package ships
    # It ran the installed copy, whose migrations are package data.
    where = subprocess.run([str(python), "-c", "import supervisor.migrator as m; print(m.default_directory())"],
                           cwd=elsewhere, capture_output=True, text=True, env=env)
    assert str(venv) in where.stdout and "site-packages/supervisor/migrations" in where.stdout, where.stdout
