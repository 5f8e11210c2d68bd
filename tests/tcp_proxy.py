"""Old import path, kept while other branches still use it: import from `tests.support`; remove after merging."""

from tests.support.tcp_proxy import TcpProxy

__all__ = ["TcpProxy"]
