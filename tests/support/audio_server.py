"""A local stand-in for a music host: WAV tones we generate, an HTML page, a 404 and a slow answer."""

from __future__ import annotations

import asyncio
import io
import math
import struct
import wave
from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web
from yarl import URL


def tone_wav(frequency: float, seconds: float, rate: int = 48000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        step = 2 * math.pi * frequency / rate
        # One second of a whole-hertz tone is a whole number of periods: render it once, repeat it.
        second = b"".join(struct.pack("<hh", v, v) for v in (int(9000 * math.sin(step * i)) for i in range(rate)))
        total = int(seconds * rate) * 4
        out.writeframes((second * (total // len(second) + 1))[:total])
    return buffer.getvalue()


class AudioServer:
    def __init__(self) -> None:
        self.base = URL("http://127.0.0.1")
        self.hits: list[str] = []
        self._runner: web.AppRunner | None = None
        self._cache: dict[tuple[float, float], bytes] = {}

    def url(self, name: str) -> str:
        return str(self.base / name)

    def tone(self, frequency: int, seconds: float) -> str:
        return self.url(f"tone-{frequency}-{seconds:g}.wav")

    async def _tone(self, request: web.Request) -> web.Response:
        key = (float(request.match_info["freq"]), float(request.match_info["secs"]))
        if key not in self._cache:
            self._cache[key] = await asyncio.to_thread(tone_wav, *key)
        self.hits.append(request.path)
        return web.Response(body=self._cache[key], content_type="audio/wav")

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body>no music here</body></html>", content_type="text/html")

    def feed(self, count: int, seconds: int = 30) -> str:
        return self.url(f"feed-{count}-{seconds}.xml")

    async def _feed(self, request: web.Request) -> web.Response:
        """A podcast feed of `count` tones of `seconds` each: yt-dlp reads it as a playlist."""
        seconds = int(request.match_info["secs"])
        items = "".join(
            f"<item><title>Tone {n}</title><enclosure url=\"{self.tone(200 + n, seconds)}\" type=\"audio/wav\" "
            f"length=\"{seconds * 192000 + 44}\"/><itunes:duration>{seconds}</itunes:duration>"
            f"<guid>tone-{n}</guid></item>" for n in range(1, int(request.match_info["count"]) + 1))
        body = ('<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
                f"<channel><title>Tones</title><link>{self.base}</link>{items}</channel></rss>")
        return web.Response(text=body, content_type="application/rss+xml")

    async def _slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(body=b"", content_type="audio/wav")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/tone-{freq}-{secs}.wav", self._tone)
        app.router.add_get("/page.html", self._page)
        app.router.add_get("/feed-{count}-{secs}.xml", self._feed)
        app.router.add_get("/slow.wav", self._slow)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = URL.build(scheme="http", host="127.0.0.1", port=port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest_asyncio.fixture
async def audio_server() -> AsyncIterator[AudioServer]:
    server = AudioServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class ManualClock:
    """The music idle timer's clock, moved by the test (`advance`), never by waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self._changed = asyncio.Event()
        self.sleepers = 0

    async def sleep(self, seconds: float) -> None:
        deadline = self.now + seconds
        self.sleepers += 1
        try:
            while self.now < deadline:
                self._changed.clear()
                await self._changed.wait()
        finally:
            self.sleepers -= 1

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self._changed.set()
