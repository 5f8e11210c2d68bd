"""The sandbox's built-in stand-in model: an OpenAI-compatible chat endpoint on loopback, with no AI in it.

It answers in a visibly canned way, quotes the first line of the instance's personality (the top of the system
prompt), and proposes a tempban when asked to ban someone, so a newcomer sees the whole AI chat flow, buttons
included, without a key. Instances whose [ai] config routes to a real or local model use that instead.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from aiohttp import web

from supervisor.sandbox.standin import serve_loopback

_BAN_REQUEST = re.compile(r"\bban\b", re.IGNORECASE)
_MENTION = re.compile(r"<@!?(\d+)>")
_DURATION = re.compile(r"\b(\d+)\s*(s|m|h|d|w)\b", re.IGNORECASE)
PREFIX = "(sandbox stand-in model, no real AI)"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or () if isinstance(part, dict))


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for one chat completion request."""
    messages = body.get("messages") or []
    system = next((_text(m.get("content")) for m in messages if m.get("role") == "system"), "")
    if "message classifier" in system:
        return {"role": "assistant", "content": "no"}
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return {"role": "assistant", "content": f"{PREFIX} The tool answered; a real model would sum it up."}
    request = _text(last.get("content"))
    speaker, _, said = request.rpartition(": ")
    first_line = system.strip().splitlines()[0] if system.strip() else "(no personality)"
    offered = {tool["function"]["name"] for tool in body.get("tools") or ()}
    target = _MENTION.search(said)
    if _BAN_REQUEST.search(said) and target and "tempban" in offered:
        duration = _DURATION.search(said)
        arguments = {"user_id": target.group(1), "duration": "".join(duration.groups()) if duration else "1h",
                     "reason": "asked in the sandbox"}
        return {"role": "assistant", "content": f"{PREFIX} Proposing a tempban; a moderator must approve it.",
                "tool_calls": [{"id": f"call_{time.monotonic_ns()}", "type": "function",
                                "function": {"name": "tempban", "arguments": json.dumps(arguments)}}]}
    who = speaker.rsplit("] ", 1)[-1] or "you"
    return {"role": "assistant", "content": (
        f"{PREFIX} My personality begins: \u201c{first_line}\u201d. {who} said: \u201c{said.strip()}\u201d. "
        "Point [ai.providers] in config.toml at a real or local model for real answers; ask me to ban "
        "someone (mention them) to see the approval buttons.")}


async def _completions(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": {"message": "invalid JSON"}}, status=400)
    message = answer(body if isinstance(body, dict) else {})
    return web.json_response({
        "id": "sandbox", "object": "chat.completion", "created": int(time.time()), "model": "sandbox-stand-in",
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    })


class SandboxModel:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen on a free loopback port; returns the chat completions URL."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", _completions)
        self._runner, base = await serve_loopback(app)
        self.url = f"{base}/v1/chat/completions"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
