"""The README's systemd steps, run in order as far as a container allows, under a scratch root.

useradd, systemctl and the package install are left out (a container has no systemd; the package is the one under
test); `nobody` plays the service user. Then the service user must be able to read everything it needs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, commands

pytestmark = pytest.mark.e2e  # the README's steps as commands

SERVICE_USER = "discord-supervisor"
PREFIXED = ("/opt/discord-supervisor", "/etc/discord-supervisor", "/var/lib/discord-supervisor",
            "/etc/systemd/system")
SKIPPED = ("useradd", "systemctl", "python3", "pip")


def production_block() -> list[list[str]]:
    readme = (REPO / "README.md").read_text()
    return commands(readme.split("## Production under systemd", 1)[1].split("\n## ", 1)[0])


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ds-prod-"))
    path.chmod(0o755)  # the service user must be able to walk in, as it walks into / on a real machine
    yield path
    shutil.rmtree(path)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root and runuser")
def test_readme_systemd_steps_leave_the_service_user_able_to_read_its_files(root: Path) -> None:
    program = root / "opt/discord-supervisor/venv/bin/discord-supervisor"
    program.parent.mkdir(parents=True)
    program.write_text(f"#!/bin/sh\nexec {sys.executable} -m supervisor \"$@\"\n")
    program.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)  # there on any systemd machine
    ran = []
    for words in production_block():
        if words[0] == "sudo":
            words = words[3:] if words[1] == "-u" else words[1:]
        if any(words[0].endswith(skip) for skip in SKIPPED) or words[-1] == "status":
            continue  # status needs the daemon systemd would have started
        words = ["nobody" if w == SERVICE_USER else w for w in words]
        words = [re.sub(r"^(" + "|".join(map(re.escape, PREFIXED)) + ")", lambda m: f"{root}{m[1]}", w)
                 for w in words]
        for index, word in enumerate(words):
            if "*" in word:
                words[index:index + 1] = sorted(str(p) for p in REPO.glob(word))
        result = subprocess.run(words, cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, f"{shlex.join(words)}: {result.stderr}"
        ran.append(words[0])
    assert ran.count("cp") == 2 and "discord-supervisor" in " ".join(ran)
    unit = (root / "etc/systemd/system/discord-supervisor.service").read_text()
    documentation = re.search(r"^Documentation=file://(\S+)$", unit, re.MULTILINE)
    assert documentation and (root / documentation[1].lstrip("/")).is_file()
    instance = root / "etc/discord-supervisor/instances/mybot"
    for needed in (".env", "config.toml", "personality.txt"):
        read = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(instance / needed)], capture_output=True)
        assert read.returncode == 0, (needed, read.stderr)
    assert oct((instance / ".env").stat().st_mode & 0o777) == "0o600"

