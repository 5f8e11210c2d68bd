"""A queued song and the loop modes, with the original's wording."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

MAX_QUEUE = 100
PLAYLIST_CAP = 100


class LoopMode(enum.Enum):
    OFF = "off"
    TRACK = "track"
    QUEUE = "queue"

    def cycle(self) -> LoopMode:
        return {LoopMode.OFF: LoopMode.TRACK, LoopMode.TRACK: LoopMode.QUEUE, LoopMode.QUEUE: LoopMode.OFF}[self]

    @property
    def label(self) -> str:
        return {LoopMode.OFF: "Loop disabled.", LoopMode.TRACK: "Looping **current track**.",
                LoopMode.QUEUE: "Looping **entire queue**."}[self]

    @classmethod
    def parse(cls, word: str | None, current: LoopMode) -> LoopMode:
        """off/none, track/t, queue/q; anything else (or nothing) cycles, as the original."""
        return {"off": cls.OFF, "none": cls.OFF, "track": cls.TRACK, "t": cls.TRACK, "queue": cls.QUEUE,
                "q": cls.QUEUE}.get((word or "").strip().lower(), current.cycle())


@dataclass
class Track:
    title: str
    url: str  # the page a member can open (or the file itself)
    duration: int  # seconds; 0 when unknown (a live stream)
    requested_by: str  # display name
    thumbnail: str = ""
    stream_url: str | None = None  # what PyAV opens; resolved again when a playlist entry comes up
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_info(cls, info: dict[str, Any], requested_by: str, *, resolved: bool) -> Track:
        """`resolved`: yt-dlp picked a format and `url` is the stream; else a flat playlist entry (a page)."""
        page = _unsmuggled(str(info.get("webpage_url") or info.get("original_url") or info.get("url") or ""))
        title = info.get("title") or info.get("id") or page
        return cls(title=str(title), url=str(page), duration=int(info.get("duration") or 0),
                   requested_by=requested_by, thumbnail=str(info.get("thumbnail") or ""),
                   stream_url=str(info["url"]) if resolved and info.get("url") else None,
                   headers={str(k): str(v) for k, v in (info.get("http_headers") or {}).items()} if resolved else {})


def _unsmuggled(url: str) -> str:
    """Without the `#__youtubedl_smuggle=...` yt-dlp adds to playlist entries (hints it does not need back)."""
    base, _, fragment = url.partition("#")
    return base if fragment.startswith("__youtubedl_smuggle") else url


def track_duration(seconds: int) -> str:
    """3:07, 1:02:03; Live for a stream without a length."""
    if seconds <= 0:
        return "Live"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
