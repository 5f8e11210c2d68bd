"""The web console's pages and actions (Starlette; Jinja2 rendered in a thread from values copied on the loop).

Actions (restart, reload, pause, resume) are POST forms carrying a CSRF token bound to the session; a request from
another origin, or without the token, changes nothing. They go through the daemon's control handler: the console
can do nothing the control socket cannot.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from supervisor import __version__
from supervisor.logring import RINGS
from supervisor.web.feed import Feed
from supervisor.web.guard import COOKIE, cookie_of, session_value
from supervisor.web.metrics import render, take_snapshot
from supervisor.web.rows import Slices, detail, problems, rows

if TYPE_CHECKING:
    from supervisor.daemon.main import Daemon

HERE = Path(__file__).parent
ACTIONS = ("restart", "reload", "pause", "resume")
COOKIE_DAYS = 30
# Only our own script and style (no inline code: an injected <script> would not run), never in a frame.
PAGE_HEADERS = {
    "cache-control": "no-store", "x-frame-options": "DENY", "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


def _when(value: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value)) if value else ""


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    return env


class Console:
    def __init__(self, daemon: Daemon, token: str | None):
        self.daemon = daemon
        self.token = token
        self.feed = Feed(daemon.fleet)
        self.templates = environment()
        # CSRF tokens are keyed by the session (a token-derived cookie), or by a per-process secret when no token
        # is set (loopback): a page on another origin can neither read nor guess them.
        self._csrf_key = (session_value(token) if token else secrets.token_hex(32)).encode()

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/", self.fleet_page),
            Route("/events", self.events),
            Route("/instance/{name}", self.instance_page),
            Route("/instance/{name}/{action}", self.act, methods=["POST"]),
            Route("/metrics", self.metrics),
            Route("/signin", self.signin, methods=["GET", "POST"]),
            Route("/favicon.ico", lambda _request: Response(status_code=204)),  # browsers ask for it anyway
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]

    def csrf(self, request: Request) -> str:
        return hmac.new(self._csrf_key, b"csrf " + cookie_of(dict(request.scope["headers"])).encode(),
                        hashlib.sha256).hexdigest()

    async def _page(self, template: str, slices: Slices | None = None, **values: Any) -> HTMLResponse:
        """Render off the loop; Server-Timing says the longest the loop was held (`loop`) and the render took."""
        values.setdefault("version", __version__)
        on_loop = slices.end() if slices is not None else 0.0
        rendering = time.perf_counter()
        html = await asyncio.to_thread(self.templates.get_template(template).render, **values)
        return HTMLResponse(html, headers={**PAGE_HEADERS, "server-timing": _timing(on_loop, rendering)})

    async def fleet_page(self, request: Request) -> Response:
        fleet, slices = self.daemon.fleet, Slices()
        return await self._page("fleet.html", slices, rows=await rows(fleet, slices=slices), problems=problems(fleet),
                                csrf=self.csrf(request))

    async def instance_page(self, request: Request) -> Response:
        name, slices = request.path_params["name"], Slices()
        shown = await detail(self.daemon.fleet, name, self.feed.latencies(name))
        if shown is None:
            return await self._page("missing.html", name=name)
        # The page's live feed (/events?instance=) sends it all afresh, then what changes.
        return await self._page("instance.html", slices, csrf=self.csrf(request),
                                said=request.query_params.get("said", ""), logs=RINGS.tail(name), **shown)

    async def act(self, request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            return PlainTextResponse("Forbidden: another origin", status_code=403)
        form = await request.form()
        given = str(form.get("csrf", ""))
        if action not in ACTIONS or not hmac.compare_digest(given.encode(), self.csrf(request).encode()):
            return PlainTextResponse("Forbidden: missing or wrong CSRF token", status_code=403)
        payload: dict[str, Any] = ({"command": "reload", "names": [name]} if action == "reload"
                                   else {"command": action, "name": name})
        answer = await self.daemon.handle_control(payload)
        said = f"{action}: done" if answer.get("ok") else f"{action}: {answer.get('error', 'failed')}"
        self.daemon.log.info("console_action", instance=name, action=action, ok=bool(answer.get("ok")))
        return RedirectResponse(f"/instance/{quote(name)}?{urlencode({'said': said})}", status_code=303)

    async def events(self, request: Request) -> Response:
        """The fleet page's live rows, or with ?instance=NAME that instance page's live state and log lines."""
        name = request.query_params.get("instance")
        stream = self.feed.stream() if name is None else self.feed.watch(name)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    async def metrics(self, request: Request) -> Response:
        slices = Slices()
        snapshot = await take_snapshot(self.daemon, slices)  # on the loop, a slice of the fleet at a time
        on_loop, rendering = slices.end(), time.perf_counter()
        body = await asyncio.to_thread(render, snapshot)  # the formatting: off the loop
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8",
                        headers={"server-timing": _timing(on_loop, rendering)})

    async def signin(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._page("signin.html", wrong=False, open=not self.token)
        form = await request.form()
        given = str(form.get("token", ""))
        if not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            page = await self._page("signin.html", wrong=bool(self.token), open=not self.token)
            page.status_code = 401 if self.token else 200
            return page
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, session_value(self.token), max_age=COOKIE_DAYS * 86400, httponly=True,
                            samesite="strict", path="/")
        return response


def _timing(on_loop: float, rendering_since: float) -> str:
    return f"loop;dur={on_loop * 1000:.1f}, render;dur={(time.perf_counter() - rendering_since) * 1000:.1f}"
