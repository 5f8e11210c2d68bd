"""One answer to one mention: history, the vision path, the classifier, search rounds, the reply, then actions.

Every send uses allowed mentions that never ping @everyone, @here or a role, whatever the model wrote. A
provider failure is a short apology; the upstream body and the key stay in the provider layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord
from supervisor.sdk import FeatureContext, UserError
from supervisor.sdk.ai import Censored, Completion, Provider, ProviderError, ToolCall, router

from . import search
from .approval import ask_approval
from .history import build_history, current_text
from .prompt import CLASSIFIER, system_prompt
from .sanitize import clean_reply
from .split import split_message
from .stock_tools import StockToolbox
from .vision import data_uris, image_attachments

if TYPE_CHECKING:
    from supervisor.sdk.ai import Router

MAX_SEARCH_ROUNDS = 3
MAIN_MAX_TOKENS = 32768
PREFLIGHT_MAX_TOKENS = 256
CLASSIFIER_MAX_TOKENS = 10
RATE_LIMIT = (10, 60.0)
MODERATION_RATE_LIMIT = (5, 60.0)

SAFE_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=True)

CENSORED_TEXT = ("My overlords at DeepSeek won't let me talk about that. Being a Chinese AI has its... limitations. "
                 "Try asking something they haven't deemed thoughtcrime.")
ERROR_TEXT = "Something went wrong talking to the AI. Try again in a sec."
NOTHING_TEXT = "I got nothing. Try rephrasing that."
IMAGE_NOTHING_TEXT = "I see the image but I got nothing to say about it."
NO_PERMISSION = "You don't have permission to do that."
TOOL_FAILED = "That didn't work. Please try again."

MODERATION_TOOLS = "moderation.tools"
STOCK_TOOLS = "stocks.tools"
GAME_TOOLS = "games.tools"  # wordle_start, connections_start: the games feature's own tool object
MUSIC_TOOLS = "music.tools"  # the music feature's own tool object: schemas (`tools`) and `run`


class Toolbox:
    """The tools this instance offers right now: web_search, plus those of features that are on."""

    def __init__(self, ctx: FeatureContext):
        self.moderation = ctx.lookup(MODERATION_TOOLS)
        game = ctx.lookup(STOCK_TOOLS)
        self.stocks = StockToolbox(game) if game is not None else None
        self.games = ctx.lookup(GAME_TOOLS)
        self.music = ctx.lookup(MUSIC_TOOLS)
        self.schemas: list[Mapping[str, Any]] = [search.TOOL]
        self.owner: dict[str, Any] = {}
        for provider in (self.moderation, self.stocks, self.games, self.music):
            for schema in getattr(provider, "tools", None) or ():
                self.schemas.append(schema)
                self.owner[schema["function"]["name"]] = provider

    @property
    def names(self) -> list[str]:
        return [schema["function"]["name"] for schema in self.schemas]


async def reply_text(message: discord.Message, text: str) -> None:
    """The first chunk replies to the member; the rest follow in the channel."""
    for index, chunk in enumerate(split_message(text)):
        if index == 0:
            await message.reply(chunk, mention_author=False, allowed_mentions=SAFE_MENTIONS)
        else:
            await message.channel.send(chunk, allowed_mentions=SAFE_MENTIONS)


def _assistant_turn(completion: Completion) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": "assistant", "content": completion.text or None}
    if completion.raw_tool_calls:
        turn["tool_calls"] = [dict(call) for call in completion.raw_tool_calls]
    return turn


def _searches(completion: Completion) -> list[ToolCall]:
    return [call for call in completion.tool_calls if call.name == "web_search"]


class Conversation:
    def __init__(self, ctx: FeatureContext, message: discord.Message, referenced: discord.Message | None):
        self.ctx = ctx
        self.message = message
        self.referenced = referenced
        self.log = ctx.log.bind(channel_id=message.channel.id, user_id=message.author.id)

    async def run(self) -> None:
        ctx, message = self.ctx, self.message
        providers = await router(ctx)
        chat, vision = providers.route("chat"), providers.route("vision")
        images = image_attachments(message, self.referenced)
        if chat is None and providers.config.explicit:
            # Silent as the original, but `status` says why: the routed provider's key is not in .env.
            ctx.warn("chat_provider", f"mentions go unanswered: [ai.routing] chat "
                                      f"{providers.config.routing.get('chat')!r} has no key in .env")
        else:
            ctx.clear_warning("chat_provider")
        if chat is None and (vision is None or not images):
            return  # no provider available: the bot stays silent, as the original
        wait = ctx.limiter("chat", *RATE_LIMIT).try_acquire(message.author.id)
        if wait is not None:
            await message.reply(f"Slow down — try again in {math.ceil(wait)}s.", mention_author=False,
                                allowed_mentions=SAFE_MENTIONS)
            return
        tools = Toolbox(ctx)
        async with message.channel.typing():
            system = system_prompt(ctx.config.personality, ctx.config.timezone, tools.names)
            history = await self._history()
            current = current_text(message, ctx.bot.user.id, self.referenced)  # type: ignore[union-attr]
            messages: list[dict[str, Any]] = [{"role": "system", "content": system}, *history,
                                              {"role": "user", "content": current}]
            if vision is not None and images and await self._vision(providers, vision, messages, images):
                return
            if chat is None:
                return
            try:
                completion = await self._answer(providers, chat, messages, tools)
            except Censored:
                await reply_text(message, CENSORED_TEXT)
                return
            except ProviderError as error:
                self.log.warning("ai_provider_failed", provider=error.provider, reason=error.reason)
                await reply_text(message, ERROR_TEXT)
                return
        actions = [call for call in completion.tool_calls if call.name != "web_search" and call.name in tools.owner]
        text = clean_reply(completion.text)
        if text:
            await reply_text(message, text)
        elif not actions:
            await reply_text(message, NOTHING_TEXT)
        for call in actions:
            await self._act(tools, call)

    async def _history(self) -> list[dict[str, Any]]:
        """The channel's earlier turns; none when Discord refuses them (no Read Message History: 403) or fails, so
        the member still gets an answer."""
        try:
            return await build_history(self.message, self.ctx.bot.user, self.ctx.started_at)  # type: ignore[arg-type]
        except discord.HTTPException as error:
            self.log.warning("ai_history_unavailable", status=error.status, code=error.code,
                             channel=self.message.channel.id)
            return []

    async def _vision(self, providers: Router, vision: Provider, messages: list[dict[str, Any]],
                      images: list[discord.Attachment]) -> bool:
        """True when the vision model answered; False falls through to the text path."""
        uris = await data_uris(images)
        if not uris:
            return False
        text = messages[-1]["content"]
        parts = [*({"type": "image_url", "image_url": {"url": uri}} for uri in uris), {"type": "text", "text": text}]
        try:
            completion = await providers.complete(vision, [*messages[:-1], {"role": "user", "content": parts}],
                                                  max_tokens=MAIN_MAX_TOKENS)
        except ProviderError as error:
            self.log.info("ai_vision_failed", provider=error.provider, reason=error.reason)
            return False
        await reply_text(self.message, clean_reply(completion.text) or IMAGE_NOTHING_TEXT)
        return True

    async def _wants_reasoning(self, providers: Router, chat: Provider, current: str) -> bool:
        try:
            verdict = await providers.complete(chat, [{"role": "system", "content": CLASSIFIER},
                                                      {"role": "user", "content": current}],
                                               max_tokens=CLASSIFIER_MAX_TOKENS)
        except ProviderError:
            return False
        return verdict.text.strip().lower().startswith("yes")

    async def _answer(self, providers: Router, chat: Provider, messages: list[dict[str, Any]],
                      tools: Toolbox) -> Completion:
        active = chat
        reasoner = providers.route("reasoner")
        if reasoner is not None and await self._wants_reasoning(providers, chat, messages[-1]["content"]):
            active = reasoner
            await self._preflight(providers, chat, messages)
        completion = await providers.complete_with_cascade(active, messages, tools=tools.schemas,
                                                           max_tokens=MAIN_MAX_TOKENS)
        for _round in range(MAX_SEARCH_ROUNDS):
            searches = _searches(completion)
            if not searches:
                return completion
            messages = [*messages]  # the caller keeps its list as it was
            await self._search(messages, completion, searches)
            completion = await providers.complete_with_cascade(active, messages, tools=tools.schemas,
                                                               max_tokens=MAIN_MAX_TOKENS)
        if _searches(completion):  # still searching after the last round: make it answer
            completion = await providers.complete_with_cascade(active, messages, max_tokens=MAIN_MAX_TOKENS)
        if not completion.text and completion.tool_calls:  # actions only: a short quip to go with them
            quip = await providers.complete_with_cascade(active, [*messages, {
                "role": "system", "content": "Reply to the user in one short sentence, in character; the action "
                                             "you chose is being handled by the system."}], max_tokens=200)
            completion = Completion(quip.text, completion.tool_calls, completion.provider, completion.raw_tool_calls)
        return completion

    async def _preflight(self, providers: Router, chat: Provider, messages: list[dict[str, Any]]) -> None:
        """A reasoner takes no tools: the chat model searches first, and the results go in as context."""
        found: list[str] = []
        scratch = list(messages)
        for _round in range(MAX_SEARCH_ROUNDS):
            try:
                completion = await providers.complete(chat, scratch, tools=[search.TOOL],
                                                      max_tokens=PREFLIGHT_MAX_TOKENS)
            except ProviderError:
                break
            searches = _searches(completion)
            if not searches:
                break
            found += await self._search(scratch, completion, searches)
        if found:
            messages.insert(len(messages) - 1, {"role": "system", "content": "Web search results for context:\n\n"
                                                + "\n\n".join(found)})

    async def _search(self, messages: list[dict[str, Any]], completion: Completion,
                      searches: list[ToolCall]) -> list[str]:
        """Run the model's web searches: its turn and each result go on `messages`; the results come back."""
        messages.append(_assistant_turn(completion))
        results = []
        for call in searches:
            result = await search.web_search(self.ctx, str(call.arguments.get("query", "")))
            results.append(result)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        return results

    # -- actions -----------------------------------------------------------------------------------
    async def _act(self, tools: Toolbox, call: ToolCall) -> None:
        provider = tools.owner[call.name]
        try:
            if provider is tools.moderation:
                await self._moderate(provider, call)
            else:
                await self._run_tool(provider, call, self.message.author)
        except UserError as refusal:
            await reply_text(self.message, str(refusal))
        except discord.HTTPException as error:
            self.log.warning("ai_tool_discord_error", tool=call.name, status=error.status)
            await reply_text(self.message, "Discord API hiccup. Please try again.")
        except Exception:
            self.log.exception("ai_tool_failed", tool=call.name)
            await reply_text(self.message, TOOL_FAILED)

    async def _run_tool(self, provider: Any, call: ToolCall, member: discord.abc.User) -> None:
        result = await provider.run(call.name, call.arguments, member=member, channel=self.message.channel)
        if isinstance(result, discord.Embed):
            await self.message.reply(embed=result, mention_author=False, allowed_mentions=SAFE_MENTIONS)
        elif isinstance(result, str) and result:
            await reply_text(self.message, result)

    async def _moderate(self, moderation: Any, call: ToolCall) -> None:
        requester = self.message.author
        permission = moderation.permission(call.name)
        if not isinstance(requester, discord.Member) or not getattr(requester.guild_permissions, permission, False):
            raise UserError(NO_PERMISSION)
        wait = self.ctx.limiter("moderation", *MODERATION_RATE_LIMIT).try_acquire(requester.id)
        if wait is not None:
            raise UserError(f"Moderation rate limited — try again in {math.ceil(wait)}s.")
        moderation.validate(call.name, call.arguments)
        description = moderation.describe(call.name, call.arguments)
        self.log.info("ai_action_proposed", tool=call.name)
        proposal, approver = await ask_approval(self.ctx, self.message, permission, description, SAFE_MENTIONS)
        if not isinstance(approver, discord.Member):
            self.log.info("ai_action_not_approved", tool=call.name)
            return
        self.log.info("ai_action_approved", tool=call.name, approver_id=approver.id)
        try:
            result = await moderation.run(call.name, call.arguments, member=approver, channel=self.message.channel,
                                          before=self.message)
        except UserError as refusal:
            result = str(refusal)
        await proposal.reply(result, mention_author=False, allowed_mentions=SAFE_MENTIONS)
