"""Daemon settings: a flag wins, else SUPERVISOR_<FLAG>, else the documented variable, else the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.cli import build_parser
from supervisor.settings import SettingsError, SupervisorSettings


def settings(argv: list[str], env: dict[str, str]) -> SupervisorSettings:
    return SupervisorSettings.from_sources(build_parser().parse_args(argv), env)


def test_a_flag_beats_supervisor_flag_beats_the_documented_name_beats_the_default() -> None:
    env = {"SUPERVISOR_STATE_DIR": "/srv/a", "STATE_DIRECTORY": "/var/lib/b:/var/lib/c"}
    assert settings(["run", "--state-dir", "/x"], env).state_dir == Path("/x")
    assert settings(["run"], env).state_dir == Path("/srv/a")
    assert settings(["run"], {"STATE_DIRECTORY": "/var/lib/b:/var/lib/c"}).state_dir == Path("/var/lib/b")
    assert settings(["run"], {}).state_dir == Path("var")


def test_documented_environment_names_keep_working() -> None:
    env = {"DATABASE_URL": "postgresql://db/x", "DISCORD_API_BASE_URL": "http://127.0.0.1:1/api",
           "DISCORD_GATEWAY_URL": "ws://127.0.0.1:1", "MCP_LISTEN": "127.0.0.1:9090", "FINNHUB_BASE_URL": "http://f",
           "SUPERVISOR_INSTANCES": "/srv/instances", "SUPERVISOR_LOG_LEVEL": "debug",
           "RUNTIME_DIRECTORY": "/run/ds:/run/other"}
    got = settings(["run"], env)
    assert (got.database_url, got.api_base_url, got.gateway_url, got.mcp_listen, got.finnhub_url) == (
        "postgresql://db/x", "http://127.0.0.1:1/api", "ws://127.0.0.1:1", "127.0.0.1:9090", "http://f")
    assert got.instances_dir == Path("/srv/instances") and got.log_level == "DEBUG"
    assert got.control_socket == Path("/run/ds/discord-supervisor.sock")
    assert settings(["status", "--control-socket", "/tmp/x.sock"], env).control_socket == Path("/tmp/x.sock")


def test_numbers_and_switches_from_the_environment() -> None:
    got = settings(["run"], {"SUPERVISOR_SHUTDOWN_TIMEOUT": "3.5", "SUPERVISOR_NO_WATCH": "1"})
    assert got.shutdown_timeout == 3.5 and got.watch is False
    assert settings(["run"], {}).watch is True
    assert settings(["run", "--shutdown-timeout", "2", "--no-watch"], {}).shutdown_timeout == 2.0
    assert settings(["run", "--no-watch"], {}).watch is False


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("SUPERVISOR_LOG_LEVEL", "loud", "SUPERVISOR_LOG_LEVEL='loud': expected one of DEBUG, INFO, WARNING, ERROR"),
    ("SUPERVISOR_SHUTDOWN_TIMEOUT", "soon", "SUPERVISOR_SHUTDOWN_TIMEOUT='soon' is not a number"),
])
def test_an_unusable_environment_value_names_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        settings(["run"], {variable: value})
