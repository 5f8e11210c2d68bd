"""REST plumbing: route table, auth, Discord-shaped responses, injected faults and the request log."""

from __future__ import annotations

import hashlib
import json
import math
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import BodyPartReader, web

from . import errors
from .errors import APIError
from .faults import Fault, FaultPlan, compile_route
from .models import Application, Attachment, Channel, Guild, Member, User
from .operations import Operations
from .permissions import P, channel_permissions, guild_permissions
from .snowflake import utcnow
from .state import State

log = structlog.get_logger("supervisor.emulator")

API_PREFIX = "/api/v10"

Reply = tuple[int, Any]
Handler = Callable[["Ctx"], Awaitable[Reply]]
RouteSpec = tuple[str, str, Handler]
NO_CONTENT: Reply = (204, None)
# Resolves the application behind a request that carries no bot token (interaction routes: the token is in the path).
PathAuth = Callable[[Operations, dict[str, str]], Application]


def authenticated_by_path(resolve: PathAuth) -> Callable[[Handler], Handler]:
    """Mark a handler whose caller proves itself with a token in the URL, not an Authorization header."""

    def mark(handler: Handler) -> Handler:
        handler.path_auth = resolve  # type: ignore[attr-defined]
        return handler

    return mark


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py only parses bodies with that exact content type.
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def snowflake_param(value: str) -> int:
    if not value.isdigit():
        raise errors.not_found()
    return int(value)


@dataclass
class RequestRecord:
    method: str
    path: str
    status: int
    token: str | None
    reason: str | None = None


@dataclass
class Ctx:
    """Everything a handler needs about one authenticated request."""

    request: web.Request
    params: dict[str, str]
    app: Application
    state: State
    ops: Operations
    reason: str | None
    body: Any = None
    files: list[Attachment] = field(default_factory=list)

    @property
    def bot(self) -> User:
        return self.app.user

    @property
    def query(self) -> Any:
        return self.request.query

    def id(self, name: str) -> int:
        value = self.params[name]
        if value == "@me":
            return self.bot.id
        return snowflake_param(value)

    def json(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise APIError(400, 50109, "The request body contains invalid JSON.")
        return self.body

    # --- guild / channel access -------------------------------------------------------------------

    def guild(self) -> Guild:
        guild = self.state.guild(self.id("guild_id"))
        if self.bot.id not in guild.members:
            raise errors.missing_access()
        return guild

    def me(self, guild: Guild) -> Member:
        return guild.members[self.bot.id]

    def guild_perms(self, guild: Guild) -> int:
        return guild_permissions(guild, self.me(guild), utcnow())

    def require_guild(self, guild: Guild, needed: int) -> None:
        if self.guild_perms(guild) & needed != needed:
            raise errors.missing_permissions()

    def channel(self) -> Channel:
        """The path's channel, if the bot can see it (Discord answers 50001 otherwise)."""
        channel = self.state.channel(self.id("channel_id"))
        if channel.guild_id is None:
            if self.bot.id not in channel.recipients:
                raise errors.missing_access()
            return channel
        guild = self.state.guilds[channel.guild_id]
        if self.bot.id not in guild.members or not self.channel_perms(channel) & P.VIEW_CHANNEL:
            raise errors.missing_access()
        return channel

    def channel_perms(self, channel: Channel) -> int:
        if channel.guild_id is None:
            # DMs: everything text-related, nothing moderative.
            return int(
                P.VIEW_CHANNEL
                | P.SEND_MESSAGES
                | P.READ_MESSAGE_HISTORY
                | P.EMBED_LINKS
                | P.ATTACH_FILES
                | P.ADD_REACTIONS
            )
        guild = self.state.guilds[channel.guild_id]
        return channel_permissions(guild, channel, self.me(guild), utcnow())

    def require_channel(self, channel: Channel, needed: int) -> None:
        if self.channel_perms(channel) & needed != needed:
            raise errors.missing_permissions()


class Rest:
    def __init__(self, state: State, ops: Operations, routes: list[RouteSpec]) -> None:
        self.state = state
        self.ops = ops
        self.faults = FaultPlan()
        self.routes = [(method, compile_route(template), h) for method, template, h in routes]
        self.unknown_routes: list[tuple[str, str]] = []
        self.requests: list[RequestRecord] = []
        # Emulator bugs (handler exceptions), kept so tests can assert there were none.
        self.internal_errors: list[str] = []

    def count(self, method: str, route_pattern: str) -> int:
        route = compile_route(route_pattern)
        return sum(1 for r in self.requests if r.method == method and route.match(r.path))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :] or "/"
        token = _bearer_token(request)
        raw_reason = request.headers.get("X-Audit-Log-Reason")
        reason = urllib.parse.unquote(raw_reason) if raw_reason is not None else None
        response = await self._respond(request, path, token, reason)
        self.requests.append(RequestRecord(request.method, path, response.status, token, reason))
        return response

    async def _respond(self, request: web.Request, path: str, token: str | None, reason: str | None) -> web.Response:
        fault = self.faults.take(request.method, path)
        if fault is not None:
            return _fault_response(fault, path)
        match = self._match(request.method, path)
        if match is None:
            self.unknown_routes.append((request.method, path))
            return json_response(404, errors.not_found().body())
        handler, params = match
        path_auth: PathAuth | None = getattr(handler, "path_auth", None)
        if path_auth is not None:
            try:
                app = path_auth(self.ops, params)
            except APIError as exc:
                return json_response(exc.status, exc.body())
        else:
            found = self.state.apps.get(token or "")
            if found is None:
                return json_response(401, errors.unauthorized().body())
            app = found
        try:
            ctx = Ctx(request, params, app, self.state, self.ops, reason)
            await _read_body(ctx)
            status, body = await handler(ctx)
        except APIError as exc:
            return json_response(exc.status, exc.body())
        except Exception as exc:
            log.exception("emulator_handler_failed", method=request.method, path=path)
            self.internal_errors.append(f"{request.method} {path}: {exc!r}")
            # 501, not 500: discord.py retries a 500 for ~25 s before giving up; a bug should fail fast.
            return json_response(501, {"message": f"Emulator error: {exc!r}", "code": 0})
        if status == 204:
            return web.Response(status=204)
        return json_response(status, body)

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route_method, regex, handler in self.routes:
            found = regex.match(path) if route_method == method else None
            if found is not None:
                return handler, found.groupdict()
        return None


def _bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bot "):
        return header[4:]
    return None


def _fault_response(fault: Fault, path: str) -> web.Response:
    if fault.status != 429:
        message = fault.message or f"{fault.status}: Injected failure"
        return json_response(fault.status, {"message": message, "code": fault.code})
    bucket = hashlib.sha1(fault.route.pattern.encode()).hexdigest()[:32]
    headers = {
        # discord.py only honours a 429 that came through Discord's proxy (Via) with a JSON retry_after.
        "Via": "1.1 google",
        "Retry-After": str(max(1, math.ceil(fault.retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Scope": "global" if fault.is_global else "user",
    }
    if fault.is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": fault.is_global}
    return json_response(429, body, headers)


async def _read_body(ctx: Ctx) -> None:
    request = ctx.request
    if not request.can_read_body:
        return
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        index = 0
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "payload_json":
                ctx.body = _loads(await part.text())
            elif part.filename is not None:
                ctx.files.append(
                    Attachment(
                        id=index,
                        filename=part.filename,
                        data=bytes(await part.read()),
                        content_type=part.headers.get("Content-Type"),
                    )
                )
                index += 1
        return
    raw = await request.read()
    if raw:
        ctx.body = _loads(raw.decode("utf-8", "replace"))


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise APIError(400, 50109, "The request body contains invalid JSON.") from None
