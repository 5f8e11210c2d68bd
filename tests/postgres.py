"""Old import path, kept while other branches still use it: tests/support/postgres.py; remove after merging."""

from tests.support.postgres import LOCAL_URL, database_for_tests, find_or_start, private_data_dir, start_private

__all__ = ["LOCAL_URL", "database_for_tests", "find_or_start", "private_data_dir", "start_private"]
