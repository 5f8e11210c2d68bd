"""Old import path, kept while other branches still use it: tests/support/postgres.py; remove after merging."""

from tests.support.postgres import LOCAL_URL, as_role, database_for_tests, private_data_dir, server_major, start_private

__all__ = ["LOCAL_URL", "as_role", "database_for_tests", "private_data_dir", "server_major", "start_private"]
