"""Old import path, kept while other branches still use it: import from `tests.support`; remove after merging."""

from tests.support.pg_freeze import frozen

__all__ = ["frozen"]
