"""`.ci/run` runs the suite twice (the second time with no PostgreSQL on 5432), always both, reports both, and
fails when either failed, pytest's exit 5 ("no tests ran") included."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO

PASSED, NO_TESTS, FAILED = "passed", "FAILED (exit 5: no tests ran)", "FAILED (exit 1)"


@pytest.mark.parametrize(("codes", "reported", "ci_fails"), [
    ((0, 0), (PASSED, PASSED), False),
    ((5, 5), (NO_TESTS, NO_TESTS), True),
    ((1, 0), (FAILED, PASSED), True),  # the first run failed: the second still runs
    ((0, 1), (PASSED, FAILED), True),
])
def test_both_runs_are_reported_and_either_failing_fails_ci(tmp_path: Path, codes: tuple[int, int],
                                                            reported: tuple[str, str], ci_fails: bool) -> None:
    # A stand-in for the test command: its n-th run exits with codes[n].
    runs = tmp_path / "runs"
    stand_in = tmp_path / "fake-pytest"
    stand_in.write_text(f"#!/bin/sh\nn=$(cat {runs} 2>/dev/null || echo 0)\necho $((n + 1)) > {runs}\n"
                        f"[ $n -eq 0 ] && exit {codes[0]}\nexit {codes[1]}\n")
    stand_in.chmod(0o755)
    env = {**os.environ, "CI_SKIP_SETUP": "1", "CI_TEST_COMMAND": str(stand_in)}
    result = subprocess.run(["bash", str(REPO / ".ci" / "run")], capture_output=True, text=True, env=env,
                            timeout=60)
    assert runs.read_text().strip() == "2"
    lines = [line for line in result.stdout.splitlines() if line.startswith("ci: tests")]
    assert lines[0] == f"ci: tests: {reported[0]}", result.stdout
    assert "without PostgreSQL on 5432" in lines[1] and lines[1].endswith(f": {reported[1]}"), result.stdout
    assert (result.returncode != 0) is ci_fails, result.stdout
