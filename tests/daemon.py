"""Old import path, kept while other branches still use it: import from `tests.support`; remove after merging."""

from tests.support.daemon import DaemonProcess, run_cli, run_cli_async
from tests.support.logbook import LogPredicate
from tests.support.waiting import eventually

__all__ = ["DaemonProcess", "LogPredicate", "eventually", "run_cli", "run_cli_async"]
