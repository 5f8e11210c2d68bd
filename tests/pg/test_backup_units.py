"""The nightly backup's systemd units: hardened, and they back up every instance keeping the newest 14."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import REPO

SERVICE = REPO / "systemd" / "discord-supervisor-backup.service"
TIMER = REPO / "systemd" / "discord-supervisor-backup.timer"


def directives(path) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_the_service_backs_up_every_instance_keeping_14_as_the_daemons_user() -> None:
    service, daemon = directives(SERVICE), directives(REPO / "systemd" / "discord-supervisor.service")
    [command] = service["ExecStart"]
    assert " backup --all --keep 14 " in f"{command} "
    for flag in ("--instances", "--state-dir"):
        assert command.split(flag + " ")[1].split()[0] == daemon["ExecStart"][0].split(flag + " ")[1].split()[0]
    assert service["Type"] == ["oneshot"]
    for key in ("User", "Group", "StateDirectory", "EnvironmentFile", "WorkingDirectory"):
        assert service[key] == daemon[key], key  # the bundled server's socket is private to the daemon's user


def test_the_timer_runs_nightly_and_catches_up() -> None:
    timer = directives(TIMER)
    assert timer["OnCalendar"] == ["*-*-* 03:30:00"] and timer["Persistent"] == ["true"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not on this machine")
def test_the_units_are_valid_and_hardened() -> None:
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=25", str(SERVICE)],
                              capture_output=True, text=True)
    assert security.returncode == 0, security.stdout[-2000:] + security.stderr
    calendar = subprocess.run(["systemd-analyze", "calendar", directives(TIMER)["OnCalendar"][0]],
                              capture_output=True, text=True)
    assert calendar.returncode == 0 and "Next elapse:" in calendar.stdout
    verify = subprocess.run(["systemd-analyze", "verify", str(SERVICE), str(TIMER)], capture_output=True, text=True)
    problems = [line for line in (verify.stdout + verify.stderr).splitlines()
                if line and "is not executable: No such file or directory" not in line]  # not installed here
    assert problems == []
