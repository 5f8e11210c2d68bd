"""Button presses: INTERACTION_CREATE to the bot, its one callback, its follow-ups and its ephemeral replies.

A press becomes an `Interaction` record. The bot answers it once through
`POST /interactions/{id}/{token}/callback` and may then use the application webhook
(`/webhooks/{application_id}/{token}`) for 15 minutes; routes_interactions.py serves both and calls in here.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import components, payloads
from .errors import APIError
from .models import Application, Attachment, InteractionMetadata, Message
from .permissions import P, channel_permissions
from .snowflake import utcnow
from .state import State

if TYPE_CHECKING:
    from .operations import Operations

MESSAGE_COMPONENT = 3

# Callback types a component interaction may answer with.
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE = 6
UPDATE_MESSAGE = 7
MODAL = 9  # show a form (modals.py)
CALLBACK_TYPES = (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL)

EPHEMERAL = 1 << 6
LOADING = 1 << 7
# Flags a bot may set on an interaction response message (plus EPHEMERAL).
RESPONSE_FLAGS = EPHEMERAL | (1 << 2) | (1 << 12)

TOKEN_LIFETIME = 15 * 60.0
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def unknown_interaction() -> APIError:
    return APIError(404, 10062, "Unknown interaction")


def already_acknowledged() -> APIError:
    return APIError(400, 40060, "Interaction has already been acknowledged.")


def unknown_webhook() -> APIError:
    return APIError(404, 10015, "Unknown Webhook")


def invalid_webhook_token() -> APIError:
    return APIError(401, 50027, "Invalid Webhook Token")


@dataclass
class Interaction:
    """One button press and everything the bot did about it (the test-facing record)."""

    id: int
    token: str
    app: Application
    user_id: int
    channel_id: int
    guild_id: int | None
    message: Message  # the message whose button was pressed
    custom_id: str
    payload: dict[str, Any]  # what the bot received in INTERACTION_CREATE
    expires_at: float
    response_type: int | None = None
    # Discord's client gave up waiting ("This interaction failed"): a late callback is refused.
    failed: bool = False
    # The message `@original` names: the response message (4, 5) or the pressed message (6, 7).
    original_id: int | None = None
    # After a deferred channel message (5), the first follow-up fills the loading message.
    fill_deferred: bool = False
    # Every message this interaction created (its response and follow-ups), in order.
    messages: list[Message] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    modal: dict[str, Any] | None = None  # the form the bot answered with (callback type 9), until submitted

    @property
    def responded(self) -> bool:
        return self.response_type is not None

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.expires_at

    @property
    def ephemeral_replies(self) -> list[Message]:
        """What only the presser saw (an ephemeral response or follow-up)."""
        return [m for m in self.messages if m.visible_to is not None]

    @property
    def public_replies(self) -> list[Message]:
        return [m for m in self.messages if m.visible_to is None]

    @property
    def reply(self) -> Message | None:
        """The first message the interaction created, if any."""
        return self.messages[0] if self.messages else None


class Interactions:
    """Every interaction of one emulator, ephemeral messages, and the listeners tests and the sandbox use."""

    def __init__(self, state: State, ops: Operations) -> None:
        self.state = state
        self.ops = ops
        self.records: dict[int, Interaction] = {}
        self._by_token: dict[str, Interaction] = {}
        # Ephemeral messages by id: not in any channel's history, never sent on the gateway.
        self.ephemeral: dict[int, Message] = {}
        self.response_listeners: list[Callable[[Interaction], None]] = []

    # --- pressing ---------------------------------------------------------------------------------

    def press(self, message: Message, user_id: int, which: str | int) -> Interaction:
        """A member presses a button: checks what a Discord client would, then INTERACTION_CREATE to the bot."""
        app = self._app_of(message.author_id)
        button = components.find_button(message.components, which)
        name = button.get("label") or button.get("custom_id")
        if button.get("style") == components.LINK_STYLE:
            raise ValueError(f"button {name!r} is a link to {button.get('url')}: pressing it opens the browser")
        if button.get("disabled"):
            raise ValueError(f"button {name!r} is disabled: Discord does not let anyone press it")
        if message.visible_to is not None and message.visible_to != user_id:
            raise ValueError("that message is ephemeral: only the member it was shown to can press its buttons")
        channel = self.state.channel(message.channel_id)
        guild = self.state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        if guild is not None:
            member = guild.members.get(user_id)
            if member is None or not channel_permissions(guild, channel, member, utcnow()) & P.VIEW_CHANNEL:
                raise ValueError("that member cannot see the channel of the message")
        elif user_id not in channel.recipients:
            raise ValueError("that user is not in the DM of the message")
        interaction = Interaction(
            id=self.state.ids.next(),
            token=f"emulator-interaction-{secrets.token_urlsafe(32)}",
            app=app,
            user_id=user_id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            message=message,
            custom_id=str(button["custom_id"]),
            payload={},
            expires_at=time.monotonic() + TOKEN_LIFETIME,
        )
        interaction.payload = self._create_payload(interaction)
        self.records[interaction.id] = interaction
        self._by_token[interaction.token] = interaction
        self.ops.gateway.dispatch_bot(app.user.id, channel.guild_id, "INTERACTION_CREATE", interaction.payload)
        return interaction

    def _app_of(self, bot_user_id: int) -> Application:
        for app in self.state.apps.values():
            if app.user.id == bot_user_id:
                return app
        raise ValueError("only a bot's messages have buttons that do something; this author is no application")

    def _create_payload(self, interaction: Interaction) -> dict[str, Any]:
        state = self.state
        channel = state.channels[interaction.channel_id]
        data: dict[str, Any] = {
            "id": str(interaction.id),
            "application_id": str(interaction.app.id),
            "type": MESSAGE_COMPONENT,
            "token": interaction.token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": payloads.channel(state, channel),
            "message": self.ops.message_payload(interaction.message),
            "data": {"custom_id": interaction.custom_id, "component_type": components.BUTTON},
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if channel.guild_id is None:
            data["user"] = payloads.user(state.users[interaction.user_id])
            data["context"] = 1
            data["authorizing_integration_owners"] = {"1": str(interaction.app.user.id)}
            return data
        guild = state.guilds[channel.guild_id]
        now = utcnow()
        member = guild.members[interaction.user_id]
        bot_member = guild.members.get(interaction.app.user.id)
        data.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member={
                **payloads.member(state, member),
                "permissions": str(channel_permissions(guild, channel, member, now)),
            },
            app_permissions=str(0 if bot_member is None else channel_permissions(guild, channel, bot_member, now)),
            context=0,
            authorizing_integration_owners={"0": str(guild.id)},
        )
        return data

    # --- lookups for the routes -------------------------------------------------------------------

    def for_callback(self, interaction_id: int, token: str) -> Interaction:
        interaction = self.records.get(interaction_id)
        if interaction is None or interaction.token != token or interaction.expired or interaction.failed:
            raise unknown_interaction()
        if interaction.responded:
            raise already_acknowledged()
        return interaction

    def for_webhook(self, application_id: int, token: str) -> Interaction:
        interaction = self._by_token.get(token)
        if interaction is None or interaction.expired:
            raise invalid_webhook_token()
        if interaction.app.id != application_id:
            raise unknown_webhook()
        return interaction

    def app_for_webhook(self, application_id: int, token: str) -> Application:
        return self.for_webhook(application_id, token).app

    def app_for_callback(self, interaction_id: int, token: str) -> Application:
        interaction = self.records.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise unknown_interaction()
        return interaction.app

    # --- what responses do ------------------------------------------------------------------------

    def new_message(
        self, interaction: Interaction, body: dict[str, Any], *, flags: int, attachments: list[Attachment] | None = None
    ) -> Message:
        """A message from the interaction's webhook: in the channel, or ephemeral to the presser."""
        channel = self.state.channels[interaction.channel_id]
        content = body.get("content") or ""
        guild = self.state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        mentions, roles, everyone = self.ops.resolve_mentions(
            guild, interaction.app.user.id, content, body.get("allowed_mentions"), None
        )
        fields: dict[str, Any] = dict(
            embeds=body.get("embeds") or [],
            attachments=attachments or [],
            components=body.get("components") or [],
            mentions=mentions,
            mention_roles=roles,
            mention_everyone=everyone,
            tts=bool(body.get("tts")),
            flags=flags,
            webhook_id=interaction.app.id,
            interaction=InteractionMetadata(
                interaction.id, MESSAGE_COMPONENT, interaction.user_id, interaction.message.id
            ),
        )
        if flags & EPHEMERAL:
            message = Message(
                id=self.state.new_message_id(),
                channel_id=channel.id,
                guild_id=channel.guild_id,
                author_id=interaction.app.user.id,
                content=content,
                timestamp=utcnow(),
                visible_to=interaction.user_id,
                **fields,
            )
            self.ephemeral[message.id] = message
            for listener in list(self.ops.message_listeners):
                listener(message)
        else:
            message = self.ops.create_message(channel, interaction.app.user.id, content, **fields)
        interaction.messages.append(message)
        return message

    def message_of(self, interaction: Interaction, message_id: str) -> Message:
        """`@original` or a follow-up's id, as the webhook routes name them."""
        if message_id == "@original":
            if interaction.original_id is None:
                raise APIError(404, 10008, "Unknown Message")
            wanted = interaction.original_id
        else:
            if not message_id.isdigit():
                raise APIError(404, 10008, "Unknown Message")
            wanted = int(message_id)
            if wanted not in {m.id for m in interaction.messages} and wanted != interaction.original_id:
                raise APIError(404, 10008, "Unknown Message")
        message = self.ephemeral.get(wanted) or self.state.messages.get(interaction.channel_id, {}).get(wanted)
        if message is None:
            raise APIError(404, 10008, "Unknown Message")
        return message

    def edited(self, message: Message) -> None:
        """Announce an edit: MESSAGE_UPDATE for channel messages; listeners only for ephemeral ones."""
        if message.visible_to is None:
            self.ops.message_edited(self.state.channels[message.channel_id], message)
            return
        message.edited_timestamp = utcnow()
        for listener in list(self.ops.edit_listeners):
            listener(message)

    def deleted(self, message: Message) -> None:
        if message.visible_to is None:
            self.ops.delete_message(self.state.channels[message.channel_id], message, message.author_id)
        else:
            self.ephemeral.pop(message.id, None)

    def answered(self, interaction: Interaction, response_type: int) -> None:
        interaction.response_type = response_type
        interaction.answered.set()
        for listener in list(self.response_listeners):
            listener(interaction)

    def ephemeral_for(self, user_id: int) -> list[Message]:
        return sorted((m for m in self.ephemeral.values() if m.visible_to == user_id), key=lambda m: m.id)
