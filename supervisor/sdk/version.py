"""The supervisor's version, for features that show it (about, the AI system prompt)."""

from supervisor import __version__ as VERSION

__all__ = ["VERSION"]
