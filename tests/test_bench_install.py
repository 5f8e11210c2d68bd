"""The bench scripts run from a plain install: they never import the test suite or pytest."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.support import REPO

pytestmark = pytest.mark.e2e  # the bench scripts on a fresh install

SCRIPTS = sorted((REPO / "bench").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_bench_imports_neither_tests_nor_pytest(script) -> None:
    tree = ast.parse(script.read_text())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in modules if m.split(".")[0] in ("tests", "pytest")}


@pytest.mark.parametrize("script", [s for s in SCRIPTS if not s.name.startswith("_")], ids=lambda path: path.name)
def test_bench_starts_without_pytest(script) -> None:
    # A meta-path hook makes importing pytest or tests fail, as on a plain install.
    hook = ("import sys\nclass Block:\n def find_spec(self, name, path=None, target=None):\n"
            "  if name.split('.')[0] in ('pytest', 'tests'): raise ImportError(name)\n"
            f"sys.meta_path.insert(0, Block())\nsys.path.insert(0, {str(script.parent)!r})\n"
            f"sys.argv = [{str(script)!r}, '--help']\nimport runpy\n"
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", hook], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
