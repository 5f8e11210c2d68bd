"""What every request to the fleet's listener passes first: the Host header, the body size, the token.

- Host must name the listener (DNS rebinding: a page on another name that resolves to us gets 421), except on a
  wildcard bind, where the token is mandatory and a rebinding page never has its cookie.
- Bodies over MAX_BODY_BYTES get 413 (announced or streamed).
- With a token: /mcp wants `Authorization: Bearer <MCP token>`; every other path wants the console's session
  cookie or `Authorization: Bearer <token>` (Prometheus); only /signin is open. A browser asking for a page is
  sent to /signin; anything else gets 401. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import SimpleCookie
from typing import Any

from supervisor.web.listen import HttpListen

MAX_BODY_BYTES = 64 * 1024
COOKIE = "ds_console"
OPEN_PATHS = ("/signin",)

Scope = dict[str, Any]


def session_value(token: str) -> str:
    """The cookie's value: derived from the token, so the token itself never sits in a browser's cookie jar."""
    return hmac.new(token.encode(), b"discord-supervisor console session", hashlib.sha256).hexdigest()


def allowed_hosts(listen: HttpListen, port: int) -> set[bytes] | None:
    """Host header values that name this listener; None: any (a wildcard bind, token required)."""
    if listen.wildcard:
        return None
    host = f"[{listen.host}]" if ":" in listen.host else listen.host
    names = {f"{host}:{port}"}
    if listen.loopback:
        names |= {f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}
    return {name.encode() for name in names}


def cookie_of(headers: dict[bytes, bytes]) -> str:
    raw = headers.get(b"cookie", b"").decode("latin-1")
    try:
        morsel = SimpleCookie(raw).get(COOKIE)
    except Exception:
        return ""
    return morsel.value if morsel is not None else ""


async def _answer(send: Any, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *(headers or [])]})
    await send({"type": "http.response.body", "body": text.encode()})


class Guard:
    def __init__(self, app: Any, listen: HttpListen, port: int):
        self.app = app
        self.hosts = allowed_hosts(listen, port)
        self.bearer = f"Bearer {listen.token}".encode() if listen.token else None
        self.mcp_bearer = f"Bearer {listen.mcp_token or listen.token}".encode() if listen.token else None
        self.session = session_value(listen.token).encode() if listen.token else None

    def authorized(self, path: str, headers: dict[bytes, bytes]) -> bool:
        if self.bearer is None or path in OPEN_PATHS:
            return True
        given = headers.get(b"authorization", b"")
        if path == "/mcp" or path.startswith("/mcp/"):
            assert self.mcp_bearer is not None
            return hmac.compare_digest(given, self.mcp_bearer)
        assert self.session is not None
        return hmac.compare_digest(given, self.bearer) or hmac.compare_digest(cookie_of(headers).encode(),
                                                                              self.session)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.hosts is not None and headers.get(b"host", b"") not in self.hosts:
            await _answer(send, 421, "Misdirected Request: the Host header does not name this server")
            return
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            await _answer(send, 413, "Request body too large")
            return
        path = scope.get("path", "")
        if not self.authorized(path, headers):
            if scope["method"] == "GET" and b"text/html" in headers.get(b"accept", b""):
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", b"/signin"), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            await _answer(send, 401, "Unauthorized", [(b"www-authenticate", b"Bearer")])
            return
        await self.app(scope, _limited(receive), send)


def _limited(receive: Any) -> Any:
    """A streamed (chunked) body is counted as it arrives."""
    seen = 0

    async def limited() -> dict[str, Any]:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise BodyTooLarge
        return message  # type: ignore[no-any-return]

    return limited


class BodyTooLarge(Exception):
    """A streamed body went over MAX_BODY_BYTES: the request ends (uvicorn answers 500 and closes)."""
