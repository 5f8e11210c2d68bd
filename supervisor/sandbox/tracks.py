"""The sandbox's music library: a few tracks of our own making (chords and tones), served on loopback as WAV.

`!m play chord` (or any word) plays the closest track by name through the music feature's normal path: the
sandbox gives the daemon `music_search_url`, so a search term becomes `<url>/search/<term>`, which redirects to
a track; a URL (`!m play http://127.0.0.1:.../tracks/arpeggio.wav`) plays as it is.
"""

from __future__ import annotations

import array
import asyncio
import io
import math
import wave

from aiohttp import web
from yarl import URL

RATE = 48000
# name -> (seconds, [(frequency Hz, start s, length s)]): notes of a chord sound together, an arpeggio in turn.
TRACKS: dict[str, tuple[float, list[tuple[float, float, float]]]] = {
    "c-major-chord": (12.0, [(261.63, 0, 12), (329.63, 0, 12), (392.0, 0, 12)]),
    "a-minor-chord": (12.0, [(220.0, 0, 12), (261.63, 0, 12), (329.63, 0, 12)]),
    "arpeggio": (8.0, [(f, i * 0.5, 0.5) for i, f in enumerate([261.63, 329.63, 392.0, 523.25] * 4)]),
    "a440-tone": (6.0, [(440.0, 0, 6)]),
}
SEARCH_OPTION = "music_search_url"


def render(name: str) -> bytes:
    """The track as 16-bit stereo WAV, each note with a short fade so it does not click."""
    seconds, notes = TRACKS[name]
    total = int(seconds * RATE)
    mono = [0.0] * total
    for frequency, start, length in notes:
        first, count = int(start * RATE), min(int(length * RATE), total - int(start * RATE))
        step, fade = 2 * math.pi * frequency / RATE, RATE // 100
        sin = math.sin
        note = [6000 * min(1.0, i / fade, (count - i) / fade) * sin(step * i) for i in range(count)]
        mono[first:first + count] = [a + b for a, b in zip(mono[first:first + count], note, strict=True)]
    pcm = array.array("h", (max(-32768, min(32767, int(v))) for v in mono))
    samples = array.array("h", bytes(total * 4))
    samples[0::2] = pcm
    samples[1::2] = pcm
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def closest(term: str) -> str:
    """The track whose name shares most words with `term` (the first track when none does)."""
    words = set(term.lower().replace("-", " ").split())
    return max(TRACKS, key=lambda name: (len(words & set(name.split("-"))), name in term.lower()))


class TrackServer:
    def __init__(self) -> None:
        self._cache: dict[str, bytes] = {}
        self._runner: web.AppRunner | None = None
        self._renders: list[asyncio.Task[bytes]] = []
        self.url = URL()

    async def _render(self, name: str) -> bytes:
        if name not in self._cache:
            self._cache[name] = await asyncio.to_thread(render, name)  # seconds of CPU: off the loop
        return self._cache[name]

    async def _track(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in TRACKS:
            raise web.HTTPNotFound()
        return web.Response(body=await self._render(name), content_type="audio/wav")

    async def _search(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(str(self.url / "tracks" / f"{closest(request.match_info['term'])}.wav"))

    async def start(self) -> str:
        """Starts on a free loopback port; returns the search base URL for `music_search_url`."""
        app = web.Application()
        app.router.add_get("/tracks/{name}.wav", self._track)
        app.router.add_get("/search/{term}", self._search)
        self._runner = web.AppRunner(app, access_log=None)
        # Rendered ahead in the background: the first play needs no wait.
        self._renders = [asyncio.get_running_loop().create_task(self._render(name)) for name in TRACKS]
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = URL.build(scheme="http", host="127.0.0.1", port=port)
        return str(self.url / "search")

    async def stop(self) -> None:
        for task in self._renders:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
