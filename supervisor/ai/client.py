"""Calls to model providers through the official SDKs, shared by every instance of the process.

One httpx connection pool serves every SDK client; one semaphore per endpoint and key caps the requests in
flight for all instances that use it (`max_concurrent`). Messages are in the OpenAI chat shape; the Anthropic
adapter translates them. A provider's error body and key never leave this module: callers get a short reason.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import anthropic
import openai
import structlog

from supervisor.ai.config import Provider
from supervisor.ai.dsml import parse_dsml
from supervisor.ai.types import Censored, Completion, Message, ProviderError, ToolCall
from supervisor.runtime.counters import count_ai

try:  # the HTTP library the installed SDKs are built on (newer releases moved to httpx2)
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older SDK releases
    import httpx  # type: ignore[no-redef]

SHARED_KEY = "ai.clients"
CENSORED_MARKER = "Content Exists Risk"
POOL_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)

log = structlog.get_logger("supervisor.ai")


def _openai_base(url: str) -> str:
    url = url.rstrip("/")
    return url.removesuffix("/chat/completions")


def _anthropic_base(url: str) -> str:
    url = url.rstrip("/")
    return url.removesuffix("/messages").removesuffix("/v1")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class ProviderClients:
    """The process-wide service under `SHARED_KEY`: the HTTP pool, SDK clients and per-endpoint limits."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(limits=POOL_LIMITS, timeout=httpx.Timeout(30.0))
        self._limits: dict[tuple[str, str], asyncio.Semaphore] = {}
        self._clients: dict[tuple[Any, ...], Any] = {}

    def limit(self, provider: Provider, key: str) -> asyncio.Semaphore:
        """Shared by every instance using this endpoint and key; the first user's max_concurrent sets it."""
        endpoint = (provider.url.rstrip("/"), _digest(key))
        semaphore = self._limits.get(endpoint)
        if semaphore is None:
            semaphore = self._limits[endpoint] = asyncio.Semaphore(provider.max_concurrent)
        return semaphore

    def _client(self, provider: Provider, key: str) -> tuple[Any, dict[str, Any]]:
        identity = (provider.spec, provider.url, provider.auth_header, provider.auth_scheme,
                    tuple(sorted(provider.headers.items())), _digest(key), provider.timeout_secs)
        client = self._clients.get(identity)
        if client is None:
            client = self._clients[identity] = self._build(provider, key)
        return client

    def _build(self, provider: Provider, key: str) -> tuple[Any, dict[str, Any]]:
        """(SDK client, per-request headers). The SDK's own auth header is dropped (per request, where the SDKs
        look for it) when the provider names another header or scheme, or needs no key (a local server)."""
        headers: dict[str, Any] = dict(provider.headers)
        timeout = httpx.Timeout(provider.timeout_secs)
        omit: dict[str, Any] = {}
        custom_auth = provider.auth_header.lower() != "authorization" or provider.auth_scheme != "Bearer "
        if provider.spec == "anthropic":
            if provider.auth_header_set or not key:
                omit = {"x-api-key": anthropic.Omit(), "Authorization": anthropic.Omit()}
                if key:
                    headers[provider.auth_header] = f"{provider.auth_scheme}{key}"
            client = anthropic.AsyncAnthropic(api_key=key or "none", base_url=_anthropic_base(provider.url),
                                              http_client=self.http, max_retries=0, timeout=timeout,
                                              default_headers=headers)
            return client, omit
        if custom_auth or not key:
            omit = {"Authorization": openai.Omit()}
            if key:
                headers[provider.auth_header] = f"{provider.auth_scheme}{key}"
        openai_client = openai.AsyncOpenAI(api_key=key or "none", base_url=_openai_base(provider.url),
                                           http_client=self.http, max_retries=0, timeout=timeout,
                                           default_headers=headers)
        return openai_client, omit

    async def complete(self, provider: Provider, key: str, messages: Sequence[Message], *,
                       tools: Sequence[Mapping[str, Any]] | None = None, max_tokens: int | None = None) -> Completion:
        """One chat completion. Tools are sent only when the provider takes them and is not a reasoner."""
        cap = provider.max_tokens if max_tokens is None else min(max_tokens, provider.max_tokens)
        use_tools = list(tools) if tools and provider.supports_tools and not provider.is_reasoner else None
        client, request_headers = self._client(provider, key)
        async with self.limit(provider, key):
            try:
                call = _anthropic_call if provider.spec == "anthropic" else _openai_call
                completion = await call(client, provider, messages, use_tools, cap, request_headers)
                count_ai(completion.tokens)  # for the instance whose task asked
                return completion
            except (openai.APIStatusError, anthropic.APIStatusError) as error:
                body = error.response.text if error.response is not None else ""
                if CENSORED_MARKER in body:
                    raise Censored(provider.name, "content refused (Content Exists Risk)") from None
                raise ProviderError(provider.name, f"HTTP {error.status_code}") from None
            except (openai.APITimeoutError, anthropic.APITimeoutError):
                raise ProviderError(provider.name, "timed out") from None
            except (openai.APIConnectionError, anthropic.APIConnectionError):
                raise ProviderError(provider.name, "connection failed") from None
            except (openai.OpenAIError, anthropic.AnthropicError, ValueError, KeyError, TypeError) as error:
                raise ProviderError(provider.name, f"bad response ({type(error).__name__})") from None

    async def aclose(self) -> None:
        await self.http.aclose()


def _arguments(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def _openai_call(client: openai.AsyncOpenAI, provider: Provider, messages: Sequence[Message],
                       tools: list[Mapping[str, Any]] | None, max_tokens: int, headers: dict[str, Any]) -> Completion:
    extra: dict[str, Any] = {"tools": tools} if tools else {}
    if headers:
        extra["extra_headers"] = headers
    response = await client.chat.completions.create(
        model=provider.model, messages=list(messages), max_tokens=max_tokens, **extra)  # type: ignore[arg-type]
    if not response.choices:
        raise ValueError("no choices")
    message = response.choices[0].message
    functions = [(call.id, getattr(call, "function", None)) for call in message.tool_calls or ()]
    calls = [ToolCall(call_id, function.name, _arguments(function.arguments))
             for call_id, function in functions if function is not None]  # custom (non-function) calls: none
    raw_calls = tuple({"id": call.id, "type": "function",
                       "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))}}
                      for call in calls)
    text, dsml_calls = parse_dsml(message.content or "")
    tokens = getattr(response.usage, "total_tokens", 0) or 0
    return Completion(text.strip(), (*calls, *dsml_calls), provider.name, raw_calls, tokens=tokens)


def _anthropic_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or ():
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            url = part["image_url"]["url"]
            media, _, data = url.removeprefix("data:").partition(";base64,")
            blocks.append({"type": "image", "source": {"type": "base64", "media_type": media, "data": data}})
    return blocks


def to_anthropic(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """OpenAI-shaped messages -> (system, messages): leading system text goes to `system`; a later system
    message becomes a user turn marked [system]; tool calls and results become tool_use / tool_result blocks;
    consecutive turns of one role are merged, as the Messages API wants them alternating."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message["role"]
        blocks: list[dict[str, Any]]
        if role == "system" and not turns and all(m["role"] == "system" for m in messages[:index]):
            system_parts.append(message["content"])
            continue
        if role == "system":
            role, blocks = "user", [{"type": "text", "text": f"[system] {message['content']}"}]
        elif role == "tool":
            role, blocks = "user", [{"type": "tool_result", "tool_use_id": message["tool_call_id"],
                                     "content": str(message.get("content", ""))}]
        else:
            blocks = _anthropic_content(message.get("content"))
            for call in message.get("tool_calls") or ():
                blocks.append({"type": "tool_use", "id": call["id"], "name": call["function"]["name"],
                               "input": _arguments(call["function"]["arguments"])})
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(system_parts), turns


async def _anthropic_call(client: anthropic.AsyncAnthropic, provider: Provider, messages: Sequence[Message],
                          tools: list[Mapping[str, Any]] | None, max_tokens: int, headers: dict[str, Any]
                          ) -> Completion:
    system, turns = to_anthropic(messages)
    extra: dict[str, Any] = {"extra_headers": headers} if headers else {}
    if system:
        extra["system"] = system
    if tools:
        extra["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                           "input_schema": t["function"].get("parameters", {"type": "object"})} for t in tools]
    response = await client.messages.create(model=provider.model, max_tokens=max_tokens,
                                            messages=turns, **extra)  # type: ignore[arg-type]  # plain dicts
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in response.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append(ToolCall(block.id, block.name, block.input if isinstance(block.input, dict) else {}))
    raw_calls = tuple({"id": call.id, "type": "function",
                       "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))}}
                      for call in calls)
    usage = response.usage
    tokens = (getattr(usage, "input_tokens", 0) or 0) + (getattr(usage, "output_tokens", 0) or 0)
    return Completion("".join(texts).strip(), tuple(calls), provider.name, raw_calls, tokens=tokens)


def image_data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
