"""Old import path, kept while other branches still use it: import from `tests.support`; remove after merging."""

from tests.support.llm_standins import Answer, Recorded, StandIn, error, text, tool

__all__ = ["Answer", "Recorded", "StandIn", "error", "text", "tool"]
