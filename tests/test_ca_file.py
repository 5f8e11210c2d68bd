"""--ca-file / DISCORD_CA_FILE: the extra CA every bot trusts (the emulator's, for its wss voice server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.cli import build_parser
from supervisor.runtime.tls import bot_connector, extra_trust, trust_extra_ca
from supervisor.settings import SupervisorSettings
from tests.support import run_cli_async


def test_the_flag_beats_the_environment() -> None:
    def ca_file(argv: list[str], env: dict[str, str]) -> str | None:
        return SupervisorSettings.from_sources(build_parser().parse_args(argv), env).ca_file

    assert ca_file(["run", "--ca-file", "/a.pem"], {"DISCORD_CA_FILE": "/b.pem"}) == "/a.pem"
    assert ca_file(["run"], {"DISCORD_CA_FILE": "/b.pem"}) == "/b.pem"
    assert ca_file(["run"], {}) is None


async def test_a_file_that_is_no_certificate_is_refused_by_name(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=f"CA file {bogus}: cannot load certificates"):
        trust_extra_ca(bogus)
    assert extra_trust() is None and bot_connector() is None  # nothing half-applied: bots keep the default


@pytest.mark.e2e
async def test_run_with_a_missing_ca_file_exits_1_naming_it(tmp_path: Path) -> None:
    (tmp_path / "instances").mkdir()
    missing = tmp_path / "nowhere.pem"
    code, out, err = await run_cli_async("run", "--instances", str(tmp_path / "instances"), "--ca-file", str(missing),
                                         "--control-socket", str(tmp_path / "c.sock"), "--log-format", "json")
    assert code == 1
    assert f"CA file {missing}: cannot load certificates" in out + err
