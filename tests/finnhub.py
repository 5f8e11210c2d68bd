"""Old import path, kept while other branches still use it: import from `tests.support`; remove after merging."""

from tests.support.finnhub import FinnhubStandIn

__all__ = ["FinnhubStandIn"]
