"""Feature packages that exist only for tests (registered by the `test_features` fixture of tests/harness.py)."""
