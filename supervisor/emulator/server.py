"""The Emulator: one aiohttp server (REST + gateway) plus the test-facing API over its world."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from . import (
    errors,
    modals,
    routes_channels,
    routes_guilds,
    routes_interactions,
    routes_messages,
    routes_users,
    routes_webhooks,
)
from .faults import Fault, compile_route
from .gateway import Gateway, GatewayConfig
from .intents import PRIVILEGED
from .interactions import Interaction
from .models import GUILD_TEXT, Application, AuditEntry, Channel, Guild, Member, Message, Overwrite, Role, User
from .operations import Operations
from .rest import API_PREFIX, RequestRecord, Rest, json_response
from .state import ChannelRef, GuildRef, RoleRef, State, UserRef, id_of
from .voice import EmulatorVoice

MessagePredicate = Callable[[Message], bool]


class Emulator:
    """A Discord stand-in that unmodified discord.py talks to over loopback HTTP and WebSocket.

    Typical test use::

        emu = Emulator()
        await emu.start()
        discord.http.Route.BASE = emu.api_base  # process-global in discord.py: restore afterwards
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)
        bot_user = emu.add_application("token", "MyBot")
        guild = emu.create_guild("G", emu.create_user("owner"))
        emu.add_bot_to_guild(guild, bot_user)
        ...  # await bot.start("token"), then emu.send_message / emu.wait_for_bot_message
        await emu.stop()
    """

    def __init__(self, *, heartbeat_interval_ms: int = 41250, replay_buffer: int = 1000,
                 heartbeat_ack_delay_ms: float = 40.0) -> None:
        self.state = State()
        self._gateway_config = GatewayConfig(heartbeat_interval_ms=heartbeat_interval_ms, replay_buffer=replay_buffer,
                                             heartbeat_ack_delay_ms=heartbeat_ack_delay_ms)
        self.gateway = Gateway(self.state, self._gateway_config)
        self.ops = Operations(self.state, self.gateway, lambda: self.base_url)
        # Voice channels' members, the wss voice gateway and the UDP media endpoint: see voice.py.
        self.voice = EmulatorVoice(self.state, self.gateway)
        self.ops.voice = self.voice.states
        self.rest = Rest(
            self.state,
            self.ops,
            routes_users.routes(lambda: self.gateway_url)
            + routes_channels.ROUTES
            + routes_messages.ROUTES
            + routes_guilds.ROUTES
            # Before the interaction routes: POST /webhooks/{id}/{token} is a channel webhook's or else an
            # interaction follow-up, and the webhook route tells them apart.
            + routes_webhooks.ROUTES
            + routes_interactions.ROUTES,
        )
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        # Bot-authored messages nobody has awaited yet, and the waiters for the next ones.
        self._mailbox: list[Message] = []
        self._waiters: list[tuple[MessagePredicate, asyncio.Future[Message]]] = []
        self.ops.message_listeners.append(self._on_message)

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        self._gateway_config.url = self.gateway_url
        await self.voice.start()

    async def stop(self) -> None:
        for _, future in self._waiters:
            future.cancel()
        self._waiters.clear()
        await self.gateway.close_all()
        await self.voice.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/gateway"

    # --- REST observation and fault injection -----------------------------------------------------

    @property
    def unknown_routes(self) -> list[tuple[str, str]]:
        return self.rest.unknown_routes

    @property
    def internal_errors(self) -> list[str]:
        """Exceptions inside emulator handlers (REST answered 501, voice closed); should stay empty."""
        return self.rest.internal_errors + self.voice.internal_errors

    @property
    def requests(self) -> list[RequestRecord]:
        return self.rest.requests

    def count_requests(self, method: str, route_pattern: str) -> int:
        return self.rest.count(method, route_pattern)

    def rate_limit(
        self, method: str, route_pattern: str, *, times: int = 1, retry_after: float = 0.2, global_: bool = False
    ) -> None:
        self.rest.faults.add(
            Fault(method.upper(), compile_route(route_pattern), times, 429, retry_after=retry_after, is_global=global_)
        )

    def fail_next(
        self,
        method: str,
        route_pattern: str,
        status: int = 500,
        *,
        times: int = 1,
        code: int = 0,
        message: str = "",
    ) -> None:
        self.rest.faults.add(
            Fault(method.upper(), compile_route(route_pattern), times, status, code=code, message=message)
        )

    # --- building the world -----------------------------------------------------------------------

    def add_application(self, token: str, name: str, *, privileged_intents: int = PRIVILEGED) -> User:
        """Register a bot token; returns the bot user. Unregistered tokens get 401 / close 4004."""
        return self.state.add_application(token, name, privileged_intents=privileged_intents).user

    def application(self, token: str) -> Application:
        return self.state.apps[token]

    def create_user(self, name: str) -> User:
        return self.state.create_user(name)

    def create_guild(self, name: str, owner: UserRef) -> Guild:
        return self.state.create_guild(name, owner)

    def create_channel(
        self,
        guild: GuildRef,
        name: str,
        type: int = GUILD_TEXT,
        *,
        overwrites: Iterable[Overwrite] = (),
        parent: ChannelRef | None = None,
        topic: str | None = None,
    ) -> Channel:
        channel = self.state.create_channel(guild, name, type, overwrites=overwrites, parent=parent, topic=topic)
        self.ops.channel_created(channel)
        return channel

    def create_role(
        self, guild: GuildRef, name: str, permissions: int = 0, position: int | None = None, **fields: Any
    ) -> Role:
        return self.ops.create_role(self.state.guild(id_of(guild)), name, int(permissions), position, **fields)

    def add_member(
        self, guild: GuildRef, user: UserRef, roles: Iterable[RoleRef] = (), *, joined_at: dt.datetime | None = None
    ) -> Member:
        """Join `user` to `guild` (GUILD_MEMBER_ADD to the bots there; GUILD_CREATE if it is a bot). `joined_at`
        in the past stands for a member who joined while no bot was watching."""
        return self.ops.add_member(
            self.state.guild(id_of(guild)), id_of(user), [id_of(r) for r in roles], joined_at
        )

    def add_bot_to_guild(self, guild: GuildRef, bot_user: UserRef, roles: Iterable[RoleRef] = ()) -> Member:
        if not self.state.user(id_of(bot_user)).bot:
            raise ValueError("add_bot_to_guild expects a bot user (from add_application)")
        return self.add_member(guild, bot_user, roles)

    def withhold_guild(self, guild: GuildRef) -> None:
        """Bots that IDENTIFY from now on see `guild` as unavailable (a Discord outage of that guild): READY lists
        it, no GUILD_CREATE follows, and discord.py waits its guild_ready_timeout before `on_ready`."""
        self.gateway.withheld_guilds.add(id_of(guild))

    def set_member_roles(self, guild: GuildRef, user: UserRef, roles: Iterable[RoleRef]) -> Member:
        g = self.state.guild(id_of(guild))
        member = self.state.member(g, id_of(user))
        member.roles = [self.state.role(g, id_of(r)).id for r in roles]
        self.ops.member_updated(g, member)
        return member

    def remove_member(self, guild: GuildRef, user: UserRef) -> None:
        """The user leaves on their own (GUILD_MEMBER_REMOVE, not a kick)."""
        self.ops.remove_member(self.state.guild(id_of(guild)), id_of(user))

    def unban(self, guild: GuildRef, user: UserRef, actor: UserRef, reason: str | None = None) -> None:
        """Lift a ban as a person would in Discord's own UI (GUILD_BAN_REMOVE to the bots)."""
        self.ops.unban(self.state.guild(id_of(guild)), id_of(user), id_of(actor), reason)

    def delete_channel(self, channel: ChannelRef) -> None:
        self.ops.delete_channel(self.state.channel(id_of(channel)))

    def clear_faults(self) -> None:
        """Forget every pending fail_next and rate_limit: Discord has recovered."""
        self.rest.faults.clear()

    def set_overwrites(self, channel: ChannelRef, overwrites: Iterable[Overwrite]) -> None:
        c = self.state.channel(id_of(channel))
        c.overwrites = list(overwrites)
        self.ops.channel_updated(c)

    # --- messages ---------------------------------------------------------------------------------

    async def send_message(
        self,
        channel: ChannelRef,
        author: UserRef,
        content: str = "",
        *,
        mentions: Iterable[UserRef] | None = None,
        reference: Message | None = None,
        embeds: list[dict[str, Any]] | None = None,
        timestamp: dt.datetime | None = None,
    ) -> Message:
        """Post as a user and dispatch MESSAGE_CREATE. `timestamp` backdates the message (and its id).

        Without `mentions`, `<@id>` in the content mentions like Discord parses it.
        """
        c = self.state.channel(id_of(channel))
        author_id = id_of(author)
        guild = self.state.guilds.get(c.guild_id) if c.guild_id is not None else None
        parsed, roles, everyone = self.ops.resolve_mentions(guild, author_id, content, None, reference)
        mention_ids = parsed if mentions is None else [id_of(u) for u in mentions]
        if mentions is not None and reference is not None:
            mention_ids.append(reference.author_id)
        return self.ops.create_message(
            c,
            author_id,
            content,
            embeds=embeds,
            mentions=list(dict.fromkeys(mention_ids)),
            mention_roles=roles,
            mention_everyone=everyone,
            reference=reference,
            timestamp=timestamp,
        )

    def dm_channel(self, user: UserRef, bot_user: UserRef) -> Channel:
        return self.state.dm_channel(id_of(user), id_of(bot_user))

    def messages(self, channel: ChannelRef) -> list[Message]:
        """Every live message in the channel, oldest first."""
        return sorted(self.state.messages.get(id_of(channel), {}).values(), key=lambda m: m.id)

    @property
    def bot_messages(self) -> list[Message]:
        return sorted(
            (m for msgs in self.state.messages.values() for m in msgs.values() if self.state.users[m.author_id].bot),
            key=lambda m: m.id,
        )

    async def wait_for_bot_message(
        self,
        predicate: MessagePredicate | None = None,
        *,
        channel: ChannelRef | None = None,
        bot: UserRef | None = None,
        timeout: float = 5.0,
    ) -> Message:
        """The oldest not-yet-awaited bot message matching the filters, waiting up to `timeout` for one.

        Every message a bot creates goes to a mailbox; each is returned by at most one call.
        """
        channel_id = None if channel is None else id_of(channel)
        bot_id = None if bot is None else id_of(bot)

        def matches(message: Message) -> bool:
            return (
                (channel_id is None or message.channel_id == channel_id)
                and (bot_id is None or message.author_id == bot_id)
                and (predicate is None or predicate(message))
            )

        for message in self._mailbox:
            if matches(message):
                self._mailbox.remove(message)
                return message
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        entry = (matches, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no bot message within {timeout}s (channel={channel_id}, bot={bot_id}); "
                f"unclaimed: {[m.content for m in self._mailbox]!r}"
            ) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    # --- buttons ----------------------------------------------------------------------------------

    async def press_button(
        self,
        message: Message,
        user: UserRef,
        button: str | int,
        *,
        wait: bool = True,
        timeout: float = 5.0,
    ) -> Interaction:
        """`user` presses `button` (its custom_id, its label, or its 1-based number) on `message`.

        The bot receives INTERACTION_CREATE. With `wait`, returns once the bot has answered (callback type,
        ephemeral replies and so on are on the record); a bot that stays silent for `timeout` seconds leaves the
        interaction failed, as Discord's client shows "This interaction failed", and a late callback is refused.
        Raises ValueError for presses a Discord client cannot make (disabled or link buttons, an unseen message).
        """
        current = self.current_message(message)
        interaction = self.ops.interactions.press(current, id_of(user), button)
        if wait:
            await self._await_answer(interaction, timeout)
        return interaction

    async def submit_modal(self, shown: Interaction, values: dict[str, str], *, wait: bool = True,
                           timeout: float = 5.0) -> Interaction:
        """The presser submits the form the bot answered `shown` with (text input custom_id -> text)."""
        interaction = modals.submit(self.ops.interactions, shown, values)
        if wait:
            await self._await_answer(interaction, timeout)
        return interaction

    async def _await_answer(self, interaction: Interaction, timeout: float) -> None:
        """Wait up to `timeout` for the bot's answer, else give up as the presser's client does. asyncio.timeout,
        never wait_for(event.wait()): on 3.11 wait_for can swallow a cancel that arrives as the event is set."""
        try:
            async with asyncio.timeout(timeout):
                await interaction.answered.wait()
        except TimeoutError:
            self.give_up(interaction)

    def give_up(self, interaction: Interaction) -> bool:
        """The presser's client stops waiting: an unanswered interaction fails. True if it had failed."""
        if not interaction.responded:
            interaction.failed = True
        return interaction.failed

    def expire_interaction(self, interaction: Interaction) -> None:
        """Jump past the 15 minutes an interaction token lives."""
        interaction.expires_at = 0.0

    @property
    def interactions(self) -> list[Interaction]:
        """Every button press so far, oldest first."""
        return list(self.ops.interactions.records.values())

    def ephemeral_messages(self, user: UserRef) -> list[Message]:
        """Ephemeral messages shown to `user` alone, oldest first."""
        return self.ops.interactions.ephemeral_for(id_of(user))

    def current_message(self, message: Message | int) -> Message:
        """The live record of a message (channel or ephemeral), as it is now after any edits."""
        message_id = id_of(message)
        ephemeral = self.ops.interactions.ephemeral.get(message_id)
        if ephemeral is not None:
            return ephemeral
        if isinstance(message, Message):
            return self.state.message(message.channel_id, message_id)
        for messages in self.state.messages.values():
            if message_id in messages:
                return messages[message_id]
        raise errors.unknown("Message")

    def _on_message(self, message: Message) -> None:
        # Ephemeral messages are for one member's eyes: they are read from interactions, not the mailbox.
        if not self.state.users[message.author_id].bot or message.visible_to is not None:
            return
        for entry in list(self._waiters):
            matches, future = entry
            if not future.done() and matches(message):
                self._waiters.remove(entry)
                future.set_result(message)
                return
        self._mailbox.append(message)

    # --- reading state ----------------------------------------------------------------------------

    def guild(self, guild: GuildRef) -> Guild:
        return self.state.guild(id_of(guild))

    def bans(self, guild: GuildRef) -> dict[int, str | None]:
        """Banned user id -> ban reason."""
        return {b.user_id: b.reason for b in self.guild(guild).bans.values()}

    def member(self, guild: GuildRef, user: UserRef) -> Member | None:
        return self.guild(guild).members.get(id_of(user))

    def member_roles(self, guild: GuildRef, user: UserRef) -> list[int]:
        member = self.member(guild, user)
        return [] if member is None else list(member.roles)

    def timeout_until(self, guild: GuildRef, user: UserRef) -> dt.datetime | None:
        member = self.member(guild, user)
        return None if member is None else member.communication_disabled_until

    def deleted_message_ids(self, channel: ChannelRef | None = None) -> list[int]:
        wanted = None if channel is None else id_of(channel)
        return [d.message.id for d in self.state.deleted if wanted is None or d.message.channel_id == wanted]

    def kicked(self, guild: GuildRef) -> list[int]:
        return list(self.guild(guild).kicked)

    def audit_log(self, guild: GuildRef, action: str | None = None) -> list[AuditEntry]:
        return [e for e in self.guild(guild).audit_log if action is None or e.action == action]

    def audit_reasons(self, guild: GuildRef, action: str | None = None) -> list[str | None]:
        return [e.reason for e in self.audit_log(guild, action)]

    # --- gateway control --------------------------------------------------------------------------

    def identify_count(self, token: str) -> int:
        return self.gateway.token_stats(token).identifies

    def resume_count(self, token: str) -> int:
        return self.gateway.token_stats(token).resumes

    def connected(self, token: str) -> bool:
        return bool(self.gateway.live_connections(token))

    def session_count(self, token: str) -> int:
        """Live gateway sessions of `token` right now (two hosts running one bot make it 2)."""
        return len(self.gateway.live_connections(token))

    def most_sessions(self, token: str) -> int:
        """The most live sessions `token` ever had at once, seen at every identify, resume and close."""
        return self.gateway.watch.most(token)

    def session_gap(self, token: str) -> float:
        """The longest time `token` had no live session after its first one (e.g. during a handoff)."""
        return self.gateway.watch.longest_gap(token)

    def session_overlap(self, token: str) -> float:
        """Seconds during which `token` had two or more live sessions at once."""
        return self.gateway.watch.overlap(token)

    async def drop_gateway(self, token: str) -> int:
        """Cut the bot's socket(s) without a close frame; the session stays resumable."""
        dropped = self.gateway.drop(token)
        await asyncio.sleep(0)
        return dropped

    async def force_reconnect(self, token: str) -> int:
        """Send op 7 RECONNECT: the bot should come back with RESUME."""
        sent = self.gateway.reconnect(token)
        await asyncio.sleep(0)
        return sent

    def invalidate_sessions(self, token: str) -> int:
        """Forget the token's sessions: the next RESUME gets op 9 and the bot must IDENTIFY again."""
        return self.gateway.invalidate(token)

    async def wait_until(
        self, condition: Callable[[], bool | Awaitable[bool]], *, timeout: float = 5.0, interval: float = 0.01
    ) -> None:
        """Poll `condition` until it holds; TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    # --- plain HTTP extras ------------------------------------------------------------------------

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        try:
            channel_id = int(request.match_info["channel_id"])
            attachment_id = int(request.match_info["attachment_id"])
        except ValueError:
            return json_response(404, errors.not_found().body())
        for message in self.state.messages.get(channel_id, {}).values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return web.Response(body=attachment.data, content_type="application/octet-stream")
        return json_response(404, errors.not_found().body())

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        self.rest.unknown_routes.append((request.method, request.path))
        return json_response(404, errors.not_found().body())
