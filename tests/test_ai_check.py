"""`check` on the [ai] table: every validation rule of the original, errors (it panicked) and warnings (it logged)."""

from __future__ import annotations

import pytest

from tests.support import GOOD_ENV, InstanceFolders, run_check

BASE = 'bot_name = "b"\ncommand_prefix = "!"\n'
LOCAL = '[ai.providers.local]\nurl = "http://127.0.0.1:11434/v1/chat/completions"\nmodel = "llama3"\n' \
        'api_key_env = "LOCAL_KEY"\nmax_tokens = 4096\n'

# (id, [ai] text, expected line in the output)
ERRORS = [
    ("routing-without-chat", LOCAL + '[ai.routing]\nvision = "local"\n',
     "ai.routing.chat: is required when [ai.routing] is present"),
    ("routing-unknown-provider", LOCAL + '[ai.routing]\nchat = "locl"\n',
     "ai.routing.chat: no provider named 'locl' (did you mean 'local'?)"),
    ("routing-alias-is-not-a-name", '[ai.routing]\nchat = "deepseek"\n',
     "ai.routing.chat: no provider named 'deepseek'"),
    ("provider-name-whitespace", LOCAL.replace("[ai.providers.local]", '[ai.providers."my model"]'),
     "ai.providers.my model: a provider name must not be empty or contain whitespace"),
    ("provider-name-empty", LOCAL.replace("[ai.providers.local]", '[ai.providers.""]'),
     "a provider name must not be empty or contain whitespace"),
    ("auth-header-empty", LOCAL + 'auth_header = ""\n', "ai.providers.local.auth_header: must not be empty"),
    ("header-name-empty", LOCAL + '[ai.providers.local.headers]\n"" = "x"\n',
     "ai.providers.local.headers: a header name must not be empty"),
    ("header-value-non-ascii", LOCAL + '[ai.providers.local.headers]\nX-Team = "caf\u00e9"\n',
     "ai.providers.local.headers.X-Team: must be printable ASCII"),
    ("header-value-control", LOCAL + '[ai.providers.local.headers]\nX-Team = "a\\u0007b"\n',
     "ai.providers.local.headers.X-Team: must be printable ASCII"),
    ("provider-missing-url", LOCAL.replace('url = "http://127.0.0.1:11434/v1/chat/completions"\n', ""),
     "ai.providers.local.url: is required"),
    ("provider-missing-max-tokens", LOCAL.replace("max_tokens = 4096\n", ""),
     "ai.providers.local.max_tokens: is required"),
    ("provider-bad-spec", LOCAL + 'spec = "gemini"\n',
     "ai.providers.local.spec: must be one of 'openai', 'anthropic', got 'gemini'"),
    ("provider-wrong-type", LOCAL.replace("max_tokens = 4096", 'max_tokens = "lots"'),
     "ai.providers.local.max_tokens: must be an integer, not str"),
    ("provider-unknown-key", LOCAL + "max_token = 5\n",
     "ai.providers.local.max_token: unknown key (did you mean 'max_tokens'?)"),
    ("provider-bad-url", LOCAL.replace("http://127.0.0.1:11434", "ftp://x"),
     "ai.providers.local.url: must start with http:// or https://"),
    ("max-concurrent-zero", LOCAL + "max_concurrent = 0\n",
     "ai.providers.local.max_concurrent: must be between 1 and 1000"),
    ("fallback-not-a-list", '[ai.fallback]\non_censored = "grok"\n',
     "ai.fallback.on_censored: must be a list of provider names"),
    ("unknown-ai-key", "[ai.routes]\nchat = \"x\"\n", "ai.routes: unknown key (did you mean 'routing'?)"),
]


@pytest.mark.parametrize(("ai", "expected"), [(a, e) for _, a, e in ERRORS], ids=[i for i, _, _ in ERRORS])
def test_ai_errors_make_the_instance_invalid(instances: InstanceFolders, ai: str, expected: str) -> None:
    instances.make("bot", config=BASE + ai, env={**GOOD_ENV, "LOCAL_KEY": "sk-local"})
    instances.make("other", env={"DISCORD_TOKEN": "token-two"})
    code, output = run_check(instances.root)
    assert code == 1, output
    assert expected in output, output
    assert any(line.startswith("other") and " ok " in line for line in output.splitlines()), output


def test_error_lines_point_into_the_file(instances: InstanceFolders) -> None:
    instances.make("bot", config=BASE + LOCAL + 'auth_header = ""\n', env=GOOD_ENV)
    _, output = run_check(instances.root)
    assert "bot/config.toml:8: ai.providers.local.auth_header: must not be empty" in output, output


def test_a_header_value_is_never_echoed(instances: InstanceFolders) -> None:
    secret = "Bearer s3cr\u00e9t-token"
    instances.make("bot", config=BASE + LOCAL + f'[ai.providers.local.headers]\nX-Auth = "{secret}"\n', env=GOOD_ENV)
    code, output = run_check(instances.root)
    assert code == 1 and "X-Auth" in output
    assert "s3cr" not in output


# (id, [ai] text, env beyond the token, expected warning)
WARNINGS = [
    ("routed-provider-key-unset", LOCAL + '[ai.routing]\nchat = "local"\n', {},
     "warning: bot/config.toml: ai.routing.chat: provider 'local' is unavailable: LOCAL_KEY is not set in .env"),
    ("fallback-provider-key-unset", LOCAL + '[ai.routing]\nchat = "local"\n[ai.fallback]\non_censored = ["grok"]\n',
     {"LOCAL_KEY": "k"}, "ai.fallback.on_censored: provider 'grok' is unavailable: GROK_API_KEY is not set"),
    ("vision-without-vision", LOCAL + '[ai.routing]\nchat = "local"\nvision = "local"\n', {"LOCAL_KEY": "k"},
     "warning: bot/config.toml:10: ai.routing.vision: provider 'local' has supports_vision = false"),
    ("reasoner-not-a-reasoner", LOCAL + '[ai.routing]\nchat = "local"\nreasoner = "local"\n', {"LOCAL_KEY": "k"},
     "ai.routing.reasoner: provider 'local' has is_reasoner = false"),
    ("unknown-cascade-name", LOCAL + '[ai.routing]\nchat = "local"\n[ai.fallback]\non_censored = ["nobody"]\n',
     {"LOCAL_KEY": "k"}, "ai.fallback.on_censored: unknown provider 'nobody': skipped"),
]


@pytest.mark.parametrize(("ai", "env", "expected"), [(a, v, e) for _, a, v, e in WARNINGS],
                         ids=[i for i, _, _, _ in WARNINGS])
def test_ai_warnings_leave_the_instance_ok(instances: InstanceFolders, ai: str, env: dict[str, str],
                                           expected: str) -> None:
    instances.make("bot", config=BASE + ai, env={**GOOD_ENV, **env})
    code, output = run_check(instances.root)
    assert code == 0, output
    assert expected in output, output
    assert any(line.startswith("bot ") and " ok " in line for line in output.splitlines())


def test_a_clean_ai_table_and_an_alias_in_the_cascade_pass_silently(instances: InstanceFolders) -> None:
    ai = LOCAL + '[ai.routing]\nchat = "local"\n[ai.fallback]\non_censored = ["deepseek", "local"]\n'
    instances.make("bot", config=BASE + ai, env={**GOOD_ENV, "LOCAL_KEY": "k", "DEEPSEEK_API_KEY": "d"})
    code, output = run_check(instances.root)
    assert code == 0 and "warning" not in output, output


def test_a_local_model_needs_no_key(instances: InstanceFolders) -> None:
    ai = LOCAL.replace('api_key_env = "LOCAL_KEY"', 'api_key_env = ""') + '[ai.routing]\nchat = "local"\n'
    instances.make("bot", config=BASE + ai, env=GOOD_ENV)
    code, output = run_check(instances.root)
    assert code == 0 and "warning" not in output, output


def test_a_user_provider_replaces_a_default_whole(instances: InstanceFolders) -> None:
    # deepseek_chat redefined without supports_vision: routing vision to it warns (no field merged from the default)
    ai = LOCAL.replace("[ai.providers.local]", "[ai.providers.gemini_flash]") + \
        '[ai.routing]\nchat = "deepseek_chat"\nvision = "gemini_flash"\n'
    instances.make("bot", config=BASE + ai, env={**GOOD_ENV, "LOCAL_KEY": "k", "DEEPSEEK_API_KEY": "d"})
    code, output = run_check(instances.root)
    assert code == 0, output
    assert "ai.routing.vision: provider 'gemini_flash' has supports_vision = false" in output
