"""yt-dlp as a library, off the event loop: a search term, a page, a direct audio file or a playlist.

Every call runs on the process-wide music pool (never the loop's default executor, which a hung resolve would
starve) under `resolve_timeout`; yt-dlp's own socket timeout makes a thread that the caller gave up on end soon
after. A cookies.txt in the instance folder is used when present; yt-dlp writes cookies back on exit, so it gets a
private copy and the instance folder is never written.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from yarl import URL

from .tracks import PLAYLIST_CAP, Track

T = TypeVar("T")

POOL_THREADS = 16
COOKIES_EXPIRED = ("⚠️ YouTube cookies are expired. Music still works but age-restricted content won't. "
                   "Someone needs to refresh `cookies.txt`.")


class ResolveFailed(Exception):
    """Nothing playable came back (not found, not audio, an HTTP error, too slow)."""


class _Quiet:
    """yt-dlp's logger: its messages would go to stderr, once per bot; errors come back as exceptions."""

    def debug(self, message: str) -> None: ...
    def info(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...
    def error(self, message: str) -> None: ...


def is_url(query: str) -> bool:
    parts = urlsplit(query.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _options(timeout: float, cookies: Path | None, *, playlist: bool) -> dict[str, Any]:
    options: dict[str, Any] = {
        "format": "bestaudio/best", "quiet": True, "no_warnings": True, "noprogress": True, "logger": _Quiet(),
        "skip_download": True, "socket_timeout": max(1.0, timeout), "noplaylist": not playlist,
        "cachedir": False,
    }
    if playlist:
        options.update(extract_flat="in_playlist", playlistend=PLAYLIST_CAP)
    if cookies is not None:
        options["cookiefile"] = str(cookies)
    return options


def _extract(query: str, timeout: float, cookies: Path | None, playlist: bool) -> dict[str, Any]:
    import yt_dlp  # imported on first use, in a pool thread: it takes a while and most bots never play

    with yt_dlp.YoutubeDL(_options(timeout, cookies, playlist=playlist)) as ydl:  # type: ignore[arg-type]
        try:
            info = ydl.extract_info(query, download=False)
        except yt_dlp.utils.YoutubeDLError as error:
            raise ResolveFailed(str(error)) from None
    if not isinstance(info, dict):
        raise ResolveFailed("no result")
    return info


def _with_cookies(cookies: str | None, work: Callable[[Path | None], T]) -> tuple[T, bool]:
    """(result, cookies_expired): a cookie failure is retried without cookies, as the original."""
    if not cookies:
        return work(None), False
    with tempfile.TemporaryDirectory(prefix="music-cookies-") as scratch:
        copy = Path(scratch) / "cookies.txt"
        copy.write_text(cookies, encoding="utf-8")
        try:
            return work(copy), False
        except ResolveFailed as error:
            if "cookie" not in str(error).lower():
                raise
    return work(None), True


def _discard(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is None:
        cleanup = getattr(future.result(), "cleanup", None)
        if cleanup is not None:
            cleanup()


class Resolver:
    """One instance's view of the shared pool: its timeout and its cookies file."""

    def __init__(self, pool: ThreadPoolExecutor, timeout: Callable[[], float],
                 cookies: Callable[[], Awaitable[str | None]], search_base: str | None = None):
        self._pool = pool
        # Where a search term goes instead of YouTube (the sandbox's own tracks): <base>/<term>.
        self._search_base = search_base
        self._timeout = timeout
        self._cookies = cookies  # cookies.txt of the instance folder, read at each resolve (an edit applies)
        self._cookie_warning = False

    def take_cookie_warning(self) -> bool:
        """True once after a resolve whose cookies.txt was refused (the song was found without it)."""
        warning, self._cookie_warning = self._cookie_warning, False
        return warning

    async def run(self, work: Callable[[], T], timeout: float | None = None) -> T:
        """`work` on the music pool; ResolveFailed after the timeout (the thread ends on its own later)."""
        future = asyncio.get_running_loop().run_in_executor(self._pool, work)
        try:
            async with asyncio.timeout(timeout or self._timeout()):
                return await asyncio.shield(future)
        except TimeoutError:
            future.add_done_callback(_discard)  # a source opened after we gave up is closed, not leaked
            raise ResolveFailed("timed out") from None

    async def track(self, query: str, requested_by: str) -> Track:
        """One song: a URL as it is, anything else as a YouTube search (`ytsearch1:`)."""
        query = query.strip()
        target = query if is_url(query) else self._search(query)
        timeout, cookies = self._timeout(), await self._cookies()
        info, expired = await self.run(lambda: _with_cookies(
            cookies, lambda c: _extract(target, timeout, c, playlist=False)))
        self._cookie_warning = self._cookie_warning or expired
        entries = info.get("entries")
        if entries is not None:  # a search answers with a one-entry playlist
            found: dict[str, Any] | None = next((e for e in entries if isinstance(e, dict)), None)
            if found is None:
                raise ResolveFailed("no search result")
            info = found
        if not info.get("url"):
            raise ResolveFailed("no stream")
        return Track.from_info(info, requested_by, resolved=True)

    def _search(self, query: str) -> str:
        if self._search_base:
            return str(URL(self._search_base) / query)
        return f"ytsearch1:{query}"

    async def playlist(self, url: str, requested_by: str) -> list[Track]:
        """Flat: titles and pages only, capped at 100; each entry's stream is resolved when it comes up."""
        timeout, cookies = self._timeout(), await self._cookies()
        info, expired = await self.run(lambda: _with_cookies(
            cookies, lambda c: _extract(url.strip(), timeout, c, playlist=True)))
        self._cookie_warning = self._cookie_warning or expired
        entries = info.get("entries")
        if entries is None:  # a single song given to `playlist`
            return [Track.from_info(info, requested_by, resolved=bool(info.get("url")))]
        return [Track.from_info(e, requested_by, resolved=False) for e in list(entries)[:PLAYLIST_CAP]
                if isinstance(e, dict) and (e.get("url") or e.get("webpage_url"))]

    async def stream(self, track: Track) -> Track:
        """A playlist entry about to play: resolve its page to a stream."""
        if track.stream_url:
            return track
        found = await self.track(track.url, track.requested_by)
        track.stream_url, track.headers = found.stream_url, found.headers
        track.duration = track.duration or found.duration
        track.thumbnail = track.thumbnail or found.thumbnail
        return track
