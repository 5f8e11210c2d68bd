"""Local model servers for tests: an OpenAI-compatible one and an Anthropic-shaped one, both recording requests.

A test sets `reply` (request body -> Answer) to script the model; `requests` keeps every body and its headers;
`peak` is the most requests ever in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Answer:
    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, arguments)
    status: int = 200
    error_body: str = ""


def text(content: str) -> Answer:
    return Answer(content)


def tool(name: str, **arguments: Any) -> Answer:
    return Answer("", [(name, arguments)])


def error(status: int, body: str) -> Answer:
    return Answer(status=status, error_body=body)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]

    @property
    def system(self) -> str:
        """The system prompt, in either shape."""
        if "system" in self.body:
            return self.body["system"] if isinstance(self.body["system"], str) else json.dumps(self.body["system"])
        return next((m["content"] for m in self.body.get("messages", []) if m["role"] == "system"), "")

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.body.get("messages", [])):
            if message["role"] == "user":
                content = message["content"]
                if isinstance(content, str):
                    return content
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
        return ""

    @property
    def is_classifier(self) -> bool:
        return "message classifier" in self.system


class StandIn:
    def __init__(self, shape: str = "openai", reply: Callable[[Recorded], Answer] | None = None):
        self.shape = shape
        self.reply: Callable[[Recorded], Answer] = reply or (lambda r: text("ok"))
        self.requests: list[Recorded] = []
        self.delay = 0.0
        self.in_flight = 0
        self.peak = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        path = "/v1/messages" if self.shape == "anthropic" else "/v1/chat/completions"
        return f"http://127.0.0.1:{self.port}{path}"

    def answered(self) -> list[Recorded]:
        """Requests other than the yes/no classifier's."""
        return [r for r in self.requests if not r.is_classifier]

    async def start(self) -> StandIn:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/v1/messages", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        record = Recorded(request.path, {k.lower(): v for k, v in request.headers.items()}, await request.json())
        self.requests.append(record)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            answer = self.reply(record)
        finally:
            self.in_flight -= 1
        if answer.status != 200:
            return web.Response(status=answer.status, text=answer.error_body, content_type="application/json")
        body = self._anthropic(record, answer) if self.shape == "anthropic" else self._openai(record, answer)
        return web.Response(text=json.dumps(body), content_type="application/json")

    @staticmethod
    def _openai(record: Recorded, answer: Answer) -> dict[str, Any]:
        calls = [{"id": f"call_{i}", "type": "function",
                  "function": {"name": name, "arguments": json.dumps(arguments)}}
                 for i, (name, arguments) in enumerate(answer.tool_calls)]
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
        if calls:
            message["tool_calls"] = calls
        return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                "model": record.body.get("model", "m"),
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    @staticmethod
    def _anthropic(record: Recorded, answer: Answer) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.text else []
        content += [{"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": arguments}
                    for i, (name, arguments) in enumerate(answer.tool_calls)]
        return {"id": "msg_test", "type": "message", "role": "assistant", "model": record.body.get("model", "m"),
                "content": content, "stop_reason": "tool_use" if answer.tool_calls else "end_turn",
                "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
