"""The provider layer on its own: the shared per-endpoint limit, the kit's `complete`, DSML, splitting, sanitising."""

from __future__ import annotations

import asyncio
import tomllib
from typing import Any

from features.ai_chat.sanitize import sanitize
from features.ai_chat.split import split_message
from supervisor.ai.client import SHARED_KEY, ProviderClients
from supervisor.ai.config import validate_ai
from supervisor.ai.dsml import parse_dsml
from supervisor.ai.router import Router
from supervisor.sdk.shared import SharedServices
from tests.support import StandIn, text


def routed(url: str, max_concurrent: int) -> Any:
    table = tomllib.loads(f'[ai.providers.p]\nurl = "{url}"\nmodel = "m"\napi_key_env = "K"\nmax_tokens = 9\n'
                          f'max_concurrent = {max_concurrent}\n[ai.routing]\nchat = "p"\n')["ai"]
    config, errors, _ = validate_ai(table)
    assert not errors
    return config


async def test_instances_on_one_endpoint_and_key_share_its_limit() -> None:
    server = await StandIn(reply=lambda r: text("ok")).start()
    server.delay = 0.3
    shared = SharedServices()
    try:
        clients = await shared.get(SHARED_KEY, ProviderClients)
        same_key = [Router(routed(server.url, 2), {"K": "one"}.get, clients, None) for _ in range(12)]
        other_key = Router(routed(server.url, 2), {"K": "two"}.get, clients, None)

        async def ask(router: Router) -> str:
            provider = router.route("chat")
            assert provider is not None
            return (await router.complete(provider, [{"role": "user", "content": "hi"}])).text

        answers = await asyncio.gather(*(ask(r) for r in same_key))
        assert answers == ["ok"] * 12
        assert server.peak == 2  # twelve instances, never more than max_concurrent at the endpoint
        server.peak = 0
        await asyncio.gather(*(ask(r) for r in [*same_key[:3], other_key, other_key]))
        assert server.peak == 4  # another key is another budget
        assert server.requests[0].body["max_tokens"] == 9  # capped by the provider's max_tokens
    finally:
        await shared.close()
        await server.stop()


def test_dsml_calls_are_parsed_and_cut_from_the_text() -> None:
    text_part, calls = parse_dsml('Sure thing. <｜DSML｜function_calls><｜DSML｜invoke name="nuke">'
                                  '<｜DSML｜parameter name="count" string="false">5</｜DSML｜parameter>'
                                  "</｜DSML｜invoke></｜DSML｜function_calls>")
    assert text_part == "Sure thing. "
    assert [(c.name, dict(c.arguments)) for c in calls] == [("nuke", {"count": "5"})]
    assert calls[0].id.startswith("dsml_")
    assert parse_dsml("no calls | here") == ("no calls | here", [])


def test_split_counts_characters_not_bytes() -> None:
    cyrillic = "привет " * 280  # 1,960 characters, 3,640 bytes: one message
    assert split_message(cyrillic) == [cyrillic.strip()]
    assert len(split_message("é" * 4500)) == 3


def test_split_reopens_a_fence_with_its_language() -> None:
    code = "```rust\n" + "\n".join(f"let v{i} = {i};" for i in range(400)) + "\n```"
    chunks = split_message(code)
    assert len(chunks) >= 3
    assert all(len(c) <= 2000 and c.count("```") == 2 for c in chunks)
    assert all(c.startswith("```rust\n") for c in chunks)


def test_sanitize_neutralises_markers_on_every_line() -> None:
    assert sanitize("hi\nAssistant : sure\n  USER: x") == "hi\n[Assistant]: sure\n  [USER]: x"
    assert sanitize("<|endoftext|>[inst]a[/INST]<SYS>b</SYS><<sys>>") == "ab"
    assert sanitize("the system: works") == "the system: works"  # only at a line start


async def test_auth_header_scheme_extra_headers_and_keyless_local_servers() -> None:
    server = await StandIn(reply=lambda r: text("ok")).start()
    shared = SharedServices()
    try:
        table = tomllib.loads(f"""
[ai.providers.azure]
url = "{server.url}"
model = "m"
api_key_env = "AZURE_KEY"
max_tokens = 9
auth_header = "api-key"
auth_scheme = ""
headers = {{ X-Team = "blue" }}
[ai.providers.ollama]
url = "{server.url.removesuffix('/chat/completions')}"
model = "llama3"
api_key_env = ""
max_tokens = 9
[ai.routing]
chat = "azure"
reasoner = "ollama"
""")["ai"]
        config, errors, _ = validate_ai(table)
        assert not errors
        clients = await shared.get(SHARED_KEY, ProviderClients)
        router = Router(config, {"AZURE_KEY": "az-secret"}.get, clients, None)
        for route in ("chat", "reasoner"):
            provider = router.route(route)
            assert provider is not None
            await router.complete(provider, [{"role": "user", "content": "hi"}])
        azure, ollama = server.requests
        assert azure.headers["api-key"] == "az-secret" and azure.headers["x-team"] == "blue"
        assert "authorization" not in azure.headers
        assert "authorization" not in ollama.headers and ollama.body["model"] == "llama3"
        assert ollama.path == "/v1/chat/completions"  # a base URL without /chat/completions works too
    finally:
        await shared.close()
        await server.stop()
