"""JSON log lines: constant event names, and a traceback as structured data a log system can index."""

from __future__ import annotations

import json
import subprocess
import sys

PROGRAM = """
from supervisor import logs
logs.configure("INFO", json=True)
log = logs.get_logger("supervisor.test", instance="alpha")
try:
    {}["missing"]
except KeyError as error:
    log.error("lookup_failed", exc_info=error)
"""


def test_a_traceback_in_a_json_line_is_structured() -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [line] = result.stderr.splitlines()
    entry = json.loads(line)
    assert entry["event"] == "lookup_failed" and entry["instance"] == "alpha" and entry["level"] == "error"
    [raised] = entry["exception"]
    assert raised["exc_type"] == "KeyError" and raised["exc_value"] == "'missing'"
    assert raised["frames"][-1]["name"] == "<module>" and raised["frames"][-1]["filename"] == "<string>"
