"""Old import path, kept while other branches still use it: the harness is tests/support/harness.py.

A package rather than a module so that git follows tests/harness.py to its new home when merging changes made
to it elsewhere. Import from `tests.support` in new code; remove this once every branch has merged.
"""

from tests.support.harness import FeatureHarness, config_for, message_text

__all__ = ["FeatureHarness", "config_for", "message_text"]
