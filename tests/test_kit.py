"""The feature kit: in-process harness, process-wide shared services, and the import rules for features."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from supervisor import registry
from tests.support import REPO, FeatureHarness


async def test_harness_bot_answers_ping_and_help(harness: FeatureHarness) -> None:
    member = harness.add_member("alice")
    assert (await harness.say(member, "!ping")).startswith("Pong!")
    help_text = await harness.say_message(harness.owner, "!help")  # help lists moderation to those who may use it
    assert help_text.embeds and "ban" in str(help_text.embeds[0])


async def test_shared_service_is_created_once_for_two_instances_and_closed_at_shutdown(harness_factory) -> None:
    first = await harness_factory(name="one")
    second = await harness_factory(name="two")
    made: list[object] = []

    class Service:
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    async def factory() -> Service:
        service = Service()
        made.append(service)
        return service

    from supervisor.sdk import Feature, FeatureContext

    probe = Feature(name="probe", summary="test", cog="x:y")
    a = FeatureContext(first.ctx, probe)
    b = FeatureContext(second.ctx, probe)
    got = [await a.shared("x", factory), await b.shared("x", factory)]
    assert got[0] is got[1] and len(made) == 1
    await first.shared.close()
    assert made[0].closed  # type: ignore[attr-defined]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_no_feature_imports_another_or_supervisor_internals() -> None:
    for path in (REPO / "features").rglob("*.py"):
        package = path.relative_to(REPO / "features").parts[0]
        for name in _imports(path):
            if name.startswith("features."):
                assert name.split(".")[1] == package, f"{path}: imports {name}"
            if name == "supervisor" or name.startswith("supervisor."):
                assert name == "supervisor.sdk" or name.startswith("supervisor.sdk."), f"{path}: imports {name}"


def test_ruff_rejects_a_feature_importing_the_daemon(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "features" / "probe").mkdir(parents=True)
    shutil.copy(REPO / "features" / "ruff.toml", tmp_path / "features" / "ruff.toml")
    probe = tmp_path / "features" / "probe" / "cog.py"
    probe.write_text("from supervisor.daemon.runner import InstanceRunner\n\nprint(InstanceRunner)\n")
    allowed = tmp_path / "features" / "probe" / "ok.py"
    allowed.write_text("from supervisor.sdk import Feature\n\nprint(Feature)\n")
    ruff = [sys.executable, "-m", "ruff", "check", "--no-cache", "."]
    result = subprocess.run(ruff, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "TID251" in result.stdout and "cog.py" in result.stdout and "ok.py" not in result.stdout


def test_every_shipped_feature_declares_itself() -> None:
    shipped = registry.features()
    assert "moderation" in shipped and shipped["moderation"].settings["sweep_interval"].default == 600.0
    assert registry.core().always_on
