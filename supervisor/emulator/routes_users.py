"""Routes about the bot itself: login, application info, gateway discovery, users and DMs."""

from __future__ import annotations

from collections.abc import Callable

from . import payloads
from .errors import APIError
from .intents import application_flags
from .rest import Ctx, Reply, RouteSpec


async def get_me(ctx: Ctx) -> Reply:
    return 200, {**payloads.user(ctx.bot), "verified": True, "mfa_enabled": False, "flags": 0, "bio": ""}


async def get_user(ctx: Ctx) -> Reply:
    return 200, payloads.user(ctx.state.user(ctx.id("user_id")))


async def get_application(ctx: Ctx) -> Reply:
    app = ctx.app
    return 200, {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": payloads.user(app.owner),
        "team": None,
        "flags": application_flags(app.privileged_intents),
        "bot": payloads.user(app.user),
        "rpc_origins": [],
        "redirect_uris": [],
        "tags": [],
        "approximate_guild_count": len(ctx.state.guilds_of(app.user.id)),
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "terms_of_service_url": None,
        "privacy_policy_url": None,
        "custom_install_url": None,
        "install_params": None,
    }


async def open_dm(ctx: Ctx) -> Reply:
    raw = ctx.json().get("recipient_id")
    if raw is None or not str(raw).isdigit():
        raise APIError(
            400,
            50035,
            "Invalid Form Body",
            {"recipient_id": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}},
        )
    recipient = ctx.state.user(int(raw))
    if recipient.bot:
        raise APIError(400, 50007, "Cannot send messages to this user")
    return 200, payloads.channel(ctx.state, ctx.state.dm_channel(ctx.bot.id, recipient.id))


def routes(gateway_url: Callable[[], str]) -> list[RouteSpec]:
    async def get_gateway(ctx: Ctx) -> Reply:
        return 200, {"url": gateway_url()}

    async def get_gateway_bot(ctx: Ctx) -> Reply:
        return 200, {
            "url": gateway_url(),
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
        }

    return [
        ("GET", "/users/@me", get_me),
        ("GET", "/users/{user_id}", get_user),
        ("POST", "/users/@me/channels", open_dm),
        ("GET", "/oauth2/applications/@me", get_application),
        ("GET", "/applications/@me", get_application),
        ("GET", "/gateway", get_gateway),
        ("GET", "/gateway/bot", get_gateway_bot),
    ]
