"""Feature packages that exist only for tests: tests/support/harness.py registers them."""
