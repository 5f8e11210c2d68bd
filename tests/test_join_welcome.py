"""Join role and welcome end to end: the real runner in-process, our emulator, a local model stand-in."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
import structlog
from aiohttp import web

from supervisor.emulator import Role
from tests.support import FeatureHarness, config_for, eventually

PERSONALITY = "You are Captain Test, a pirate who says arr."
NO_AI_CHAT = "[features]\nai_chat = false\n"  # the welcome uses the provider layer, not the chat feature
PROMPT = "Greet them like a ship's crew would and point them at #rules."


class ModelStandIn:
    """An OpenAI-compatible chat endpoint on loopback that records every request and answers with `reply`
    (`{mention}` is replaced by the mention the request's user message carries)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = "Ahoy {mention}! Welcome aboard, @everyone cheer for them, and <@&{role}> too!"
        self.role = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        mention = re.search(r"<@\d+>", user)
        text = self.reply.replace("{mention}", mention.group(0) if mention else "").replace("{role}", str(self.role))
        answer = {
            "id": "cmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return web.Response(body=json.dumps(answer), content_type="application/json")


@pytest_asyncio.fixture
async def model() -> AsyncIterator[ModelStandIn]:
    stand_in = ModelStandIn()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", stand_in.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stand_in.url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        yield stand_in
    finally:
        await runner.cleanup()


def community_config(h: FeatureHarness, role: Role, model_url: str | None) -> str:
    extra = (f'[features]\nai_chat = false\njoin_role = true\nwelcome = true\n\n[join_role]\nrole = "{role.id}"\n\n'
             f'[welcome]\nchannel = "{h.channel.id}"\nprompt_file = "welcome_prompt.txt"\n')
    if model_url:
        extra += (f'\n[ai.providers.local]\nurl = "{model_url}"\nmodel = "stand-in"\napi_key_env = "LOCAL_KEY"\n'
                  'max_tokens = 1024\n\n[ai.routing]\nchat = "local"\n')
    return config_for(h.name, extra=extra)


async def start(harness_factory: Any, model_url: str | None, prompt: str) -> tuple[FeatureHarness, Role]:
    h = await harness_factory(env={"LOCAL_KEY": "test-key"}, personality=PERSONALITY, config_extra=NO_AI_CHAT)
    (h.folder / "welcome_prompt.txt").write_text(prompt, encoding="utf-8")
    role = h.emu.create_role(h.guild, "crew", 0, position=1)
    outcome = await h.edit_config(community_config(h, role, model_url))
    assert outcome == "applied live", outcome
    return h, role


async def test_join_role_and_an_ai_welcome_that_pings_only_the_newcomer(harness_factory: Any,
                                                                        model: ModelStandIn) -> None:
    h, crew = await start(harness_factory, model.url, PROMPT)
    model.role = crew.id
    with structlog.testing.capture_logs() as logs:
        newbie = h.add_member("newbie")
        # Generous: the first model call of a process imports the provider SDKs.
        welcome = await h.emu.wait_for_bot_message(channel=h.channel, bot=h.bot_user, timeout=90)
        await eventually(lambda: h.emu.member_roles(h.guild, newbie) == [crew.id])

        assert welcome.content.startswith(f"Ahoy <@{newbie.id}>! Welcome aboard, @everyone")
        assert welcome.mentions == [newbie.id]
        assert welcome.mention_everyone is False and welcome.mention_roles == []
        [request] = model.requests
        system = next(m["content"] for m in request["messages"] if m["role"] == "system")
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        assert system == f"{PERSONALITY}\n\n## Welcome Message Instructions\n{PROMPT}"
        assert f"<@{newbie.id}>" in user and "newbie" in user
        assert request["max_tokens"] == 512

        h.emu.remove_member(h.guild, newbie)  # a rejoin within 5 minutes
        await eventually(lambda: h.emu.member(h.guild, newbie) is None)
        h.emu.add_member(h.guild, newbie)
        await eventually(lambda: h.emu.member_roles(h.guild, newbie) == [crew.id])
        await eventually(lambda: any(e["event"] == "welcome_skipped" for e in logs))
    assert len(model.requests) == 1
    assert [m for m in h.emu.messages(h.channel) if m.author_id == h.bot_user.id] == [welcome]


async def test_without_a_provider_the_prompt_file_is_the_welcome_read_live(harness_factory: Any) -> None:
    h, crew = await start(harness_factory, None, "Welcome to {server}, {mention}! @everyone say hi.")
    first = h.add_member("first")
    welcome = await h.emu.wait_for_bot_message(channel=h.channel, bot=h.bot_user, timeout=60)
    assert welcome.content == f"Welcome to {h.guild.name}, <@{first.id}>! @everyone say hi."
    assert welcome.mentions == [first.id] and welcome.mention_everyone is False

    (h.folder / "welcome_prompt.txt").write_text("Glad you came.", encoding="utf-8")
    second = h.add_member("second")
    welcome = await h.emu.wait_for_bot_message(channel=h.channel, bot=h.bot_user, timeout=60)
    assert welcome.content == f"Welcome <@{second.id}>!\nGlad you came."
    await eventually(lambda: h.emu.member_roles(h.guild, second) == [crew.id])


async def test_a_missing_prompt_file_and_a_deleted_join_role_are_status_warnings(harness_factory: Any) -> None:
    h, crew = await start(harness_factory, None, "hello")
    (h.folder / "welcome_prompt.txt").unlink()
    h.emu.ops.delete_role(h.emu.guild(h.guild), crew)
    await eventually(lambda: h.bot.get_guild(h.guild.id).get_role(crew.id) is None)
    h.add_member("someone")
    await eventually(lambda: {"welcome:prompt_file", "join_role:role"} <= h.status()["warnings"].keys())
    warnings = h.status()["warnings"]
    assert warnings["welcome:prompt_file"] == f"{h.name}/welcome_prompt.txt: file not found"
    assert warnings["join_role:role"] == f"[join_role].role {crew.id} is not a role of any server this bot is in"
    assert h.runner.ctx is not None and not h.runner.ctx.crashed.done()


async def test_welcome_settings_are_validated(harness_factory: Any) -> None:
    harness = await harness_factory(config_extra=NO_AI_CHAT)
    outcome = await harness.edit_config(config_for(
        harness.name, extra=f'{NO_AI_CHAT}welcome = true\n\n[welcome]\nchannel = "general"\nprompt_file = "../x"\n'))
    assert "welcome.channel: must be a Discord ID" in outcome
    assert "welcome.prompt_file: must be a file inside the instance folder" in outcome
