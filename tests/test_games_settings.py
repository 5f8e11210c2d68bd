"""--nyt-url / NYT_BASE_URL: the puzzles' base URL every bot reads through the kit (`supervisor_setting`)."""

from __future__ import annotations

from supervisor.cli import build_parser
from supervisor.settings import SupervisorSettings


def settings(argv: list[str], env: dict[str, str]) -> SupervisorSettings:
    return SupervisorSettings.from_sources(build_parser().parse_args(argv), env)


def test_the_flag_beats_the_environment_on_run_and_sandbox() -> None:
    env = {"NYT_BASE_URL": "http://127.0.0.1:1/nyt"}
    assert settings(["run"], env).upstreams() == {"nyt_url": "http://127.0.0.1:1/nyt"}
    assert settings(["run", "--nyt-url", "http://127.0.0.1:2"], env).nyt_url == "http://127.0.0.1:2"
    assert settings(["sandbox", "--nyt-url", "http://127.0.0.1:3"], {}).upstreams() == {"nyt_url": "http://127.0.0.1:3"}
    both = settings(["run", "--finnhub-url", "http://f"], env).upstreams()
    assert both == {"finnhub_url": "http://f", "nyt_url": "http://127.0.0.1:1/nyt"}
    assert settings(["run"], {}).upstreams() == {}  # unset: the games feature uses https://www.nytimes.com
