"""One instance's view of its providers: which are available (key set), routing, and the censorship cascade."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from supervisor.ai.client import ProviderClients
from supervisor.ai.config import AIConfig, Provider, available, sandbox_provider
from supervisor.ai.types import Censored, Completion, Message


class Router:
    """Built per request from the live config, so a config or `.env` change applies to the next message."""

    def __init__(self, config: AIConfig, secret: Callable[[str], str | None], clients: ProviderClients,
                 log: Any, sandbox_url: str | None = None):
        self.config = config
        self._secret = secret
        self._clients = clients
        self._log = log or structlog.get_logger("supervisor.ai")
        self._sandbox = sandbox_provider(sandbox_url) if sandbox_url else None

    def available(self, provider: Provider) -> bool:
        return available(provider, self._secret)

    def route(self, route: str) -> Provider | None:
        """The available provider of `route` (chat, vision, reasoner), or None."""
        name = self.config.routing.get(route)
        provider = self.config.providers.get(name) if name else None
        if provider is not None and self.available(provider):
            return provider
        if route == "chat" and self._sandbox is not None and not self.config.explicit:
            return self._sandbox  # the sandbox's built-in model stands in when nothing else is configured
        return None

    async def complete(self, provider: Provider, messages: Sequence[Message], *,
                       tools: Sequence[Mapping[str, Any]] | None = None, max_tokens: int | None = None) -> Completion:
        key = (self._secret(provider.api_key_env) or "") if provider.api_key_env else ""
        return await self._clients.complete(provider, key, messages, tools=tools, max_tokens=max_tokens)

    async def complete_with_cascade(self, provider: Provider, messages: Sequence[Message], *,
                                    tools: Sequence[Mapping[str, Any]] | None = None,
                                    max_tokens: int | None = None) -> Completion:
        """Only a CENSORED refusal walks `[ai.fallback] on_censored`; any other error of the primary is raised.
        Errors of cascade members are skipped; if every one refuses or fails, the refusal is raised."""
        try:
            return await self.complete(provider, messages, tools=tools, max_tokens=max_tokens)
        except Censored as refusal:
            first_refusal = refusal
        for name in self.config.on_censored:
            member = self.config.provider(name)
            if member is None:
                self._log.warning("ai_cascade_unknown_provider", provider=name)
                continue
            if member.name == provider.name or not self.available(member):
                continue
            try:
                return await self.complete(member, messages, tools=tools, max_tokens=max_tokens)
            except Exception as error:  # a cascade member's failure only moves on to the next one
                self._log.info("ai_cascade_member_failed", provider=member.name, error=str(error))
        raise first_refusal

