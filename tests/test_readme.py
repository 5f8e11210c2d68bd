"""The README stays a short read in a newcomer's order; its links resolve and its commands exist as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from supervisor.cli import build_parser
from tests.support import REPO, commands

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# Programs other than our own that the documents may tell you to run.
SYSTEM_PROGRAMS = {"python3", "systemctl", "useradd", "install", "cp", "mkdir", "nano", "printf", "bash",
                   "journalctl", "psql", "chown", "docker", "mv"}
REPO_DIRS = ("systemd/", "bench/", "docs/", ".ci/")


def test_readme_is_short() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) < 200


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_relative_links_resolve(document: Path) -> None:
    for target in LINK.findall(document.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        assert (document.parent / target.partition("#")[0]).exists(), f"{document.name}: {target}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_command_in_a_code_block_exists(document: Path) -> None:
    parser = build_parser()
    for words in commands(document.read_text()):
        while words and "=" in words[0]:  # VAR=value before the program
            words = words[1:]
        if words[:2] == ["sudo", "-u"]:
            words = words[3:]
        elif words[:1] == ["sudo"]:
            words = words[1:]
        if not words:
            continue
        program, args = words[0], words[1:]
        if program.endswith("discord-supervisor"):
            try:
                parser.parse_args(args)
            except SystemExit:
                pytest.fail(f"{document.name}: discord-supervisor {shlex.join(args)} is not a valid command")
        elif program.endswith(("/python", "/pip")):
            assert program.startswith((".venv/", "/opt/discord-supervisor/venv/")), program
        else:
            assert program in SYSTEM_PROGRAMS, f"{document.name}: unknown program {program!r}"
        for arg in args:
            if arg.startswith(REPO_DIRS) or arg == "README.md":
                assert list(REPO.glob(arg)), f"{document.name}: {arg} is not in the repository"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    command = re.search(r"^TEST_COMMAND=\((.*)\)$", ci, re.MULTILINE)
    assert command and '"${TEST_COMMAND[@]}"' in ci
    assert f"`{command.group(1)}`" in (REPO / "README.md").read_text()
