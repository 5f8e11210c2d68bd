"""Old import path, kept while other branches still use it: import from `tests.support`; remove after merging."""

from tests.support.scratch_postgres import scratch_server, scratch_state_dir

__all__ = ["scratch_server", "scratch_state_dir"]
