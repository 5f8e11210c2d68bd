"""MCP_PORT, MCP_BIND_ADDR and MCP_AUTH_TOKEN in an instance's `.env`: that instance's own MCP listener, as
discord-bot-rs served one per bot (`/mcp` on 127.0.0.1:9090 unless told otherwise).

Setting any of the three opens it (an empty value counts as unset, as there); the original's defaults fill in
the others. A bind that is not loopback without a token is refused, as the original refuses it: the bot runs,
its listener does not start, and `check` and the log say why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

MCP_KEYS = ("MCP_PORT", "MCP_BIND_ADDR", "MCP_AUTH_TOKEN")
DEFAULT_PORT = 9090
DEFAULT_BIND = "127.0.0.1"


@dataclass(frozen=True)
class InstanceMcp:
    host: str
    port: int
    token: str | None = field(default=None, repr=False)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def refused(self) -> str | None:
        """Why the listener must not start (the original's guard), or None."""
        if self.loopback or self.token:
            return None
        return (f"MCP_BIND_ADDR {self.host} is not a loopback address and MCP_AUTH_TOKEN is empty: this "
                "instance's MCP listener does not start (set MCP_AUTH_TOKEN, or bind 127.0.0.1)")

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_mcp(values: Mapping[str, str]) -> tuple[InstanceMcp | None, list[tuple[str, str]]]:
    """(the listener's settings or None when no MCP_* key is set, [(key, problem)])."""
    if not any(values.get(key) for key in MCP_KEYS):
        return None, []
    problems: list[tuple[str, str]] = []
    port = DEFAULT_PORT
    port_text = values.get("MCP_PORT") or ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            problems.append(("MCP_PORT", "must be a port number (1-65535)"))
        else:
            port = int(port_text)
    host = (values.get("MCP_BIND_ADDR") or DEFAULT_BIND).strip("[]")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            problems.append(("MCP_BIND_ADDR", "must be an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0"))
    if problems:
        return None, problems
    return InstanceMcp(host, port, values.get("MCP_AUTH_TOKEN") or None), []
