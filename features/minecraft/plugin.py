"""The Minecraft companion plugin's HTTP API: verify a code, list donators, ban a player. Bearer MC_VERIFY_SECRET.

Errors come back as `PluginError` with a short reason fit for a Discord reply (never a traceback or a secret).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
from supervisor.sdk import FeatureContext, http_session
from yarl import URL

DONATORS_TIMEOUT = 10.0  # the original's own client for the donator list
BAN_TIMEOUT = 10.0


class PluginError(Exception):
    """The plugin could not be reached or did not answer as expected: a short reason."""


class NotConfigured(Exception):
    """MC_VERIFY_URL or MC_VERIFY_SECRET is not set: the message names the key."""


@dataclass(frozen=True)
class Verified:
    success: bool
    username: str | None
    error: str | None


@dataclass(frozen=True)
class BanOutcome:
    ok: bool
    detail: str  # "HTTP 500: ..." or the reason it could not be reached


class Plugin:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx

    def configured(self) -> tuple[str, str]:
        """(base URL, secret), read live from .env; NotConfigured names the missing key."""
        url, secret = self.ctx.secret("MC_VERIFY_URL"), self.ctx.secret("MC_VERIFY_SECRET")
        for key, value in (("MC_VERIFY_URL", url), ("MC_VERIFY_SECRET", secret)):
            if not value:
                raise NotConfigured(f"MC verification is not configured. Set `{key}` in .env")
        assert url and secret
        return url, secret

    def _url(self, base: str, *path: str) -> URL:
        url = URL(base)
        for part in path:
            url = url / part
        return url

    async def _request(self, method: str, path: tuple[str, ...], timeout: float | None,
                       body: dict[str, Any] | None = None) -> tuple[int, Any, str]:
        base, secret = self.configured()
        session = await http_session(self.ctx)
        options: dict[str, Any] = {"headers": {"Authorization": f"Bearer {secret}"}}
        if body is not None:
            options["json"] = body
        if timeout is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)
        try:
            async with session.request(method, self._url(base, *path), **options) as response:
                text = await response.text()
                try:
                    payload = await response.json(content_type=None)
                except ValueError:
                    payload = None
                return response.status, payload, text
        except TimeoutError:
            raise PluginError("the request timed out") from None
        except aiohttp.ClientConnectorError as error:
            raise PluginError(f"cannot connect ({error.os_error.strerror or 'refused'})") from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as error:
            raise PluginError(type(error).__name__) from None

    async def verify(self, code: str, discord_id: int) -> Verified:
        status, payload, _ = await self._request("POST", ("api", "verify"), None,
                                                 {"code": code, "discord_id": str(discord_id)})
        if not isinstance(payload, dict) or not isinstance(payload.get("success"), bool):
            raise PluginError(f"unexpected answer (HTTP {status})")
        username, error = payload.get("username"), payload.get("error")
        return Verified(payload["success"], username if isinstance(username, str) else None,
                        error if isinstance(error, str) else None)

    async def donators(self) -> list[dict[str, Any]]:
        status, payload, _ = await self._request("GET", ("api", "donators"), DONATORS_TIMEOUT)
        if status != 200:
            raise PluginError(f"HTTP {status}")
        donators = payload.get("donators") if isinstance(payload, dict) else None
        if not isinstance(donators, list):
            raise PluginError("unexpected answer: no `donators` list")
        return [d for d in donators if isinstance(d, dict)]

    async def ban(self, uuid: str, reason: str) -> BanOutcome:
        try:
            status, _, text = await self._request("POST", ("api", "ban"), BAN_TIMEOUT,
                                                  {"uuid": uuid, "reason": reason})
        except (PluginError, NotConfigured) as error:
            return BanOutcome(False, str(error))
        if 200 <= status < 300:
            return BanOutcome(True, f"HTTP {status}")
        return BanOutcome(False, f"HTTP {status} {text.strip()[:200]}".rstrip())
