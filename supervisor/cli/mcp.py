"""`mcp`: the running daemon's MCP tools over stdio."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor.cli.options import add_control_socket
from supervisor.settings import SupervisorSettings


def add_parser(subparsers: Any) -> None:
    mcp = subparsers.add_parser(
        "mcp", help="serve the running daemon's MCP tools over stdio (for MCP clients that launch a command)",
        description="An MCP server on standard input and output that forwards every tool call to the running "
        "daemon through its control socket, with that socket's permissions and nothing more. Instances opt in "
        "with their `mcp` feature and `[mcp] tools` allow-list, as for the HTTP endpoint (run --mcp-listen).",
    )
    add_control_socket(mcp)


def run(args: argparse.Namespace, settings: SupervisorSettings) -> int:
    from supervisor.mcp.stdio import serve_stdio

    return serve_stdio(settings.socket_path())
