"""Gates the developers' guide states, checked over the code itself: log event names and function length."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.support import REPO

LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "msg"}
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MAX_FUNCTION_LINES = 80
# A logger is reached through a name or attribute ending in log/logger, or a .bind(...) of one.
_LOGGER_NAME = re.compile(r"(^|_)(log|logger)$")


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((REPO / folder).rglob("*.py"))


def _is_logger(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return bool(_LOGGER_NAME.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(_LOGGER_NAME.search(node.attr))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("bind", "new"):
        return _is_logger(node.func.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        return name == "get_logger"
    return False


def _is_log_method(func: ast.expr) -> bool:
    if isinstance(func, ast.IfExp):  # (log.info if fits else log.warning)(...)
        return _is_log_method(func.body) and _is_log_method(func.orelse)
    return isinstance(func, ast.Attribute) and func.attr in LOG_METHODS and _is_logger(func.value)


def log_events(path: Path) -> Iterator[tuple[int, ast.expr | None]]:
    """(line, the event argument) of every structlog call in `path`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and _is_log_method(node.func):
            yield node.lineno, node.args[0] if node.args else None


def bad_event_names() -> list[str]:
    bad = []
    for path in _python_files("supervisor", "features"):
        for line, event in log_events(path):
            where = f"{path.relative_to(REPO)}:{line}"
            if not isinstance(event, ast.Constant) or not isinstance(event.value, str):
                bad.append(f"{where}: the event is not a constant string")
            elif not SNAKE_CASE.match(event.value):
                bad.append(f"{where}: {event.value!r} is not snake_case")
    return bad


def test_every_log_event_is_a_constant_snake_case_name() -> None:
    assert bad_event_names() == []


def test_the_checker_sees_structlog_calls_and_their_names() -> None:
    found = {ast.literal_eval(e) for path in _python_files("supervisor") for _, e in log_events(path)
             if isinstance(e, ast.Constant)}
    assert {"instance_running", "daemon_ready", "config_reloaded"} <= found


def long_functions() -> list[str]:
    long = []
    for path in _python_files("supervisor"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.name} has {length} lines")
    return long


def test_no_function_in_supervisor_is_over_80_lines() -> None:
    assert long_functions() == []
