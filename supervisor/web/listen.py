"""Where the fleet's HTTP listener binds, and which token guards it."""

from __future__ import annotations

from dataclasses import dataclass, field

from supervisor.mcp.instance_env import is_loopback


class HttpConfigError(Exception):
    """The HTTP settings cannot be served safely or at all: the daemon says why and does not start."""


@dataclass(frozen=True)
class HttpListen:
    host: str
    port: int  # 0: any free port (the log line `http_listening` says which)
    token: str | None = field(default=None, repr=False)  # SUPERVISOR_HTTP_TOKEN (else MCP_AUTH_TOKEN): all but /mcp
    mcp_token: str | None = field(default=None, repr=False)  # MCP_AUTH_TOKEN: /mcp (else the HTTP token)
    mcp: bool = False  # serve /mcp too
    flag: str = "--http-listen"

    @classmethod
    def parse(cls, value: str, token: str | None, *, mcp_token: str | None = None, mcp: bool = False,
              flag: str = "--http-listen") -> HttpListen:
        host, _, port_text = value.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
            raise HttpConfigError(f"{flag} must be HOST:PORT, e.g. 127.0.0.1:9090 (got {value!r})")
        # Without an HTTP token of its own, the MCP token guards every path: never a guarded /mcp beside an
        # open console.
        listen = cls(host, int(port_text), token or mcp_token or None, mcp_token or None, mcp, flag)
        if not listen.loopback and not listen.token:
            wanted = "MCP_AUTH_TOKEN (or SUPERVISOR_HTTP_TOKEN)" if flag == "--mcp-listen" else "SUPERVISOR_HTTP_TOKEN"
            raise HttpConfigError(f"{flag} {host}:{port_text} is not a loopback address: set {wanted} in the "
                                  "supervisor's environment, or bind 127.0.0.1")
        return listen

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def wildcard(self) -> bool:
        return self.host in ("0.0.0.0", "::")


def from_flags(http_listen: str | None, mcp_listen: str | None, token: str | None,
               mcp_token: str | None) -> HttpListen | None:
    """The one listener from `run`'s settings: --http-listen (console, /metrics, and /mcp when --mcp-listen names
    the same address), or --mcp-listen alone (the same listener, with /mcp). None: no HTTP at all."""
    if http_listen and mcp_listen and http_listen != mcp_listen:
        raise HttpConfigError(f"--mcp-listen {mcp_listen} and --http-listen {http_listen} differ: the fleet has one "
                              "HTTP listener, which serves /mcp too; give --http-listen alone with --mcp-listen "
                              "set to the same address, or only one of them")
    if http_listen:
        return HttpListen.parse(http_listen, token, mcp_token=mcp_token, mcp=bool(mcp_listen))
    if mcp_listen:
        return HttpListen.parse(mcp_listen, token, mcp_token=mcp_token, mcp=True, flag="--mcp-listen")
    return None
