"""The `[ai]` table of config.toml: providers, routing and the censorship cascade, validated like the original.

Errors are what the original panicked on; warnings are what it logged and ran anyway. Nothing here reads a key:
`env_warnings` is given the instance's `.env` values and only asks whether a key is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from supervisor.settings_schema import did_you_mean

SPECS = ("openai", "anthropic")
DEFAULT_MAX_CONCURRENT = 8

# Names the cascade also accepts at request time (never in [ai.routing]), as the original does.
ALIASES = {"gemini": "gemini_flash", "deepseek": "deepseek_chat", "deepseek-chat": "deepseek_chat"}


@dataclass(frozen=True)
class Provider:
    """One model endpoint. `api_key_env` names the `.env` key; "" means the server needs no key (a local model)."""

    name: str
    url: str
    model: str
    api_key_env: str
    max_tokens: int
    timeout_secs: float = 30.0
    supports_vision: bool = False
    supports_tools: bool = True
    is_reasoner: bool = False
    spec: str = "openai"
    headers: Mapping[str, str] = field(default_factory=dict)
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer "
    max_concurrent: int = DEFAULT_MAX_CONCURRENT  # requests in flight per endpoint and key, for the whole process
    auth_header_set: bool = False  # written in config.toml (an anthropic provider otherwise uses x-api-key)


def _deepseek(name: str, model: str, max_tokens: int, timeout: float, *, reasoner: bool) -> Provider:
    return Provider(name, "https://api.deepseek.com/chat/completions", model, "DEEPSEEK_API_KEY", max_tokens,
                    timeout, supports_tools=not reasoner, is_reasoner=reasoner)


DEFAULT_PROVIDERS: Mapping[str, Provider] = MappingProxyType({
    "deepseek_chat": _deepseek("deepseek_chat", "deepseek-chat", 8192, 30.0, reasoner=False),
    "deepseek_reasoner": _deepseek("deepseek_reasoner", "deepseek-reasoner", 65536, 300.0, reasoner=True),
    "gemini_flash": Provider("gemini_flash", "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
                             "gemini-3-flash-preview", "GEMINI_API_KEY", 16384, supports_vision=True),
    "grok": Provider("grok", "https://api.x.ai/v1/chat/completions", "grok-3", "GROK_API_KEY", 16384),
})
DEFAULT_ROUTING: Mapping[str, str] = MappingProxyType(
    {"chat": "deepseek_chat", "vision": "gemini_flash", "reasoner": "deepseek_reasoner"})
ROUTES = ("chat", "vision", "reasoner")


@dataclass(frozen=True)
class AIConfig:
    providers: Mapping[str, Provider]
    routing: Mapping[str, str]  # route -> provider name; a missing route is not used
    on_censored: tuple[str, ...] = ()
    explicit: bool = False  # config.toml has an [ai] table

    def provider(self, name: str) -> Provider | None:
        """A provider by name or alias (aliases only for the cascade, as the original)."""
        return self.providers.get(name) or self.providers.get(ALIASES.get(name, ""))


DEFAULT_AI = AIConfig(DEFAULT_PROVIDERS, DEFAULT_ROUTING)

# The supervisor option the sandbox sets to its built-in stand-in model (an OpenAI-compatible server).
SANDBOX_MODEL_OPTION = "ai_sandbox_url"


def sandbox_provider(url: str) -> Provider:
    return Provider("sandbox", url, "sandbox-stand-in", "", 4096, timeout_secs=10.0)

Issues = list[tuple[str, str]]  # (dotted key under [ai], message)

_FIELDS: Mapping[str, tuple[type | tuple[type, ...], bool]] = {  # name -> (type, required)
    "url": (str, True), "model": (str, True), "api_key_env": (str, True), "max_tokens": (int, True),
    "timeout_secs": ((int, float), False), "supports_vision": (bool, False), "supports_tools": (bool, False),
    "is_reasoner": (bool, False), "spec": (str, False), "headers": (dict, False), "auth_header": (str, False),
    "auth_scheme": (str, False), "max_concurrent": (int, False),
}


def _type_ok(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, kind)


_TYPE_NAMES: Mapping[Any, str] = {str: "a string", int: "an integer", bool: "true or false", dict: "a table"}


def _type_name(kind: type | tuple[type, ...]) -> str:
    return _TYPE_NAMES.get(kind, "a number")


def _printable_ascii(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def _provider(name: str, table: Any, errors: Issues) -> Provider | None:
    where = f"providers.{name}"
    if not name.strip() or any(ch.isspace() for ch in name):
        errors.append((where, "a provider name must not be empty or contain whitespace"))
        return None
    if not isinstance(table, dict):
        errors.append((where, "must be a table"))
        return None
    before = len(errors)
    for key in table:
        if key not in _FIELDS:
            errors.append((f"{where}.{key}", f"unknown key{did_you_mean(key, list(_FIELDS))}"))
    for key, (kind, required) in _FIELDS.items():
        if key not in table:
            if required:
                errors.append((f"{where}.{key}", "is required"))
            continue
        if not _type_ok(table[key], kind):
            errors.append((f"{where}.{key}", f"must be {_type_name(kind)}, not {type(table[key]).__name__}"))
    if len(errors) > before:
        return None
    url = table["url"]
    if not url.startswith(("http://", "https://")):
        errors.append((f"{where}.url", "must start with http:// or https://"))
    if table["max_tokens"] < 1:
        errors.append((f"{where}.max_tokens", "must be at least 1"))
    if float(table.get("timeout_secs", 30)) <= 0:
        errors.append((f"{where}.timeout_secs", "must be more than 0"))
    if not 1 <= table.get("max_concurrent", DEFAULT_MAX_CONCURRENT) <= 1000:
        errors.append((f"{where}.max_concurrent", "must be between 1 and 1000"))
    spec = table.get("spec", "openai")
    if spec not in SPECS:
        errors.append((f"{where}.spec", f"must be one of {', '.join(map(repr, SPECS))}, got {spec!r}"))
    auth_header = table.get("auth_header", "Authorization")
    if not auth_header.strip():
        errors.append((f"{where}.auth_header", "must not be empty"))
    elif not _printable_ascii(auth_header) or " " in auth_header:
        errors.append((f"{where}.auth_header", "must be a header name (printable ASCII, no spaces)"))
    if not _printable_ascii(table.get("auth_scheme", "Bearer ")):
        errors.append((f"{where}.auth_scheme", "must be printable ASCII"))
    headers = table.get("headers", {})
    for header, value in headers.items():
        if not header.strip():
            errors.append((f"{where}.headers", "a header name must not be empty"))
        elif not isinstance(value, str):
            errors.append((f"{where}.headers.{header}", "must be a string"))
        elif not _printable_ascii(value):  # never echo the value: it may be a secret
            errors.append((f"{where}.headers.{header}", "must be printable ASCII (no control or non-ASCII characters)"))
    if len(errors) > before:
        return None
    return Provider(
        name=name, url=url, model=table["model"], api_key_env=table["api_key_env"], max_tokens=table["max_tokens"],
        timeout_secs=float(table.get("timeout_secs", 30.0)),
        supports_vision=table.get("supports_vision", False), supports_tools=table.get("supports_tools", True),
        is_reasoner=table.get("is_reasoner", False), spec=spec, headers=MappingProxyType(dict(headers)),
        auth_header=auth_header, auth_scheme=table.get("auth_scheme", "Bearer "),
        max_concurrent=table.get("max_concurrent", DEFAULT_MAX_CONCURRENT), auth_header_set="auth_header" in table,
    )


def validate_ai(raw: Any) -> tuple[AIConfig, Issues, Issues]:
    """The `[ai]` table -> (config, errors, warnings). With errors the config is the defaults (never used)."""
    errors: Issues = []
    warnings: Issues = []
    if raw is None:
        return DEFAULT_AI, errors, warnings
    if not isinstance(raw, dict):
        return DEFAULT_AI, [("", "[ai] must be a table")], warnings
    for key in raw:
        if key not in ("providers", "routing", "fallback"):
            errors.append((key, f"unknown key{did_you_mean(key, ['providers', 'routing', 'fallback'])}"))

    providers = dict(DEFAULT_PROVIDERS)  # a user-defined name replaces a default one whole, never merged
    raw_providers = raw.get("providers", {})
    if not isinstance(raw_providers, dict):
        errors.append(("providers", "must be a table of [ai.providers.<name>] tables"))
        raw_providers = {}
    for name, table in raw_providers.items():
        provider = _provider(name, table, errors)
        if provider is not None:
            providers[name] = provider
        else:
            providers.pop(name, None)

    routing: dict[str, str] = dict(DEFAULT_ROUTING)
    if "routing" in raw:
        raw_routing = raw["routing"]
        routing = {}
        if not isinstance(raw_routing, dict):
            errors.append(("routing", "must be a table"))
            raw_routing = {}
        elif "chat" not in raw_routing:
            errors.append(("routing.chat", "is required when [ai.routing] is present"))
        for route, target in raw_routing.items():
            if route not in ROUTES:
                errors.append((f"routing.{route}", f"unknown route{did_you_mean(route, list(ROUTES))}"))
            elif not isinstance(target, str):
                errors.append((f"routing.{route}", "must be a provider name (a string)"))
            elif target not in providers and target not in raw_providers:
                errors.append((f"routing.{route}", f"no provider named {target!r}"
                               f"{did_you_mean(target, sorted(providers))}"))
            else:
                routing[route] = target

    on_censored: tuple[str, ...] = ()
    fallback = raw.get("fallback", {})
    if not isinstance(fallback, dict):
        errors.append(("fallback", "must be a table"))
    else:
        for key in fallback:
            if key != "on_censored":
                errors.append((f"fallback.{key}", f"unknown key{did_you_mean(key, ['on_censored'])}"))
        chain = fallback.get("on_censored", [])
        if not isinstance(chain, list) or not all(isinstance(name, str) for name in chain):
            errors.append(("fallback.on_censored", "must be a list of provider names"))
        else:
            on_censored = tuple(chain)
            for name in chain:
                if name not in providers and ALIASES.get(name) not in providers:
                    warnings.append(("fallback.on_censored", f"unknown provider {name!r}: skipped"))

    vision = providers.get(routing.get("vision", ""))
    if vision is not None and not vision.supports_vision:
        warnings.append(("routing.vision", f"provider {vision.name!r} has supports_vision = false"))
    reasoner = providers.get(routing.get("reasoner", ""))
    if reasoner is not None and not reasoner.is_reasoner:
        warnings.append(("routing.reasoner", f"provider {reasoner.name!r} has is_reasoner = false"))

    config = AIConfig(MappingProxyType(providers), MappingProxyType(routing), on_censored, explicit=True)
    return config, errors, warnings


def available(provider: Provider, secret: Callable[[str], str | None]) -> bool:
    """Its key is set (an empty value counts as unset), or it needs none."""
    return not provider.api_key_env or bool(secret(provider.api_key_env))


def env_warnings(config: AIConfig, secrets: Mapping[str, str]) -> Issues:
    """Providers that routing or the cascade use but whose key is not in `.env` (only for an explicit [ai])."""
    if not config.explicit:
        return []
    warnings: Issues = []
    used = [(f"routing.{route}", name) for route, name in config.routing.items()]
    used += [("fallback.on_censored", name) for name in config.on_censored]
    for where, name in used:
        provider = config.provider(name)
        if provider is not None and not available(provider, secrets.get):
            warnings.append((where, f"provider {provider.name!r} is unavailable: {provider.api_key_env} is not set "
                                    "in .env"))
    return warnings
