"""Audio for discord.py without an ffmpeg process: PyAV decodes in-process and encodes 20 ms Opus frames.

`OpusSource.open()` does the blocking part (connect, probe, first packets) and must run off the event loop;
afterwards discord.py's player thread calls `read()` every 20 ms and gets one ready Opus packet, so discord.py
encodes nothing (`is_opus()` is True). PyAV releases the GIL while it decodes and encodes, so many players share
the process without stalling the event loop.
"""

from __future__ import annotations

import ctypes.util
import errno
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import av.error
import av.filter
import discord

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz: the only frame length discord.py's player paces
FRAME_BYTES_PER_SAMPLE = 4  # s16 stereo, interleaved
OPUS_SET_COMPLEXITY = 4010  # libopus' OPUS_SET_COMPLEXITY_REQUEST (discord.py's binding has no setter for it)
DEFAULT_BITRATE = 128_000
# libopus effort 0-10: 5 costs about half of 10 and a listener cannot tell music apart at 128 kbps.
DEFAULT_COMPLEXITY = 5
# ffmpeg's network options for http(s) inputs: give up on a dead server, reconnect on a dropped stream.
HTTP_OPTIONS = {"timeout": "15000000", "reconnect": "1", "reconnect_streamed": "1", "reconnect_delay_max": "5"}


def ensure_opus() -> None:
    """discord.py's libopus binding, loaded once for the process: the copy in PyAV's wheel (always there with our
    dependencies), else the system's."""
    if discord.opus.is_loaded():
        return
    bundled = sorted((Path(av.__file__).resolve().parent.parent / "av.libs").glob("libopus*.so*"))
    discord.opus.load_opus(str(bundled[0]) if bundled else (ctypes.util.find_library("opus") or "libopus.so.0"))


PROBE_PACKETS = 5
LOW_WATER = 10  # packets: below this the encoder threads are woken at once


def _opus_packets(container: Any, stream: Any) -> Iterator[tuple[bytes, bool]]:
    """(payload, lasts 20 ms) for each Opus packet of `stream`, read without decoding."""
    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # the demuxer's end-of-stream marker
        seconds = float(packet.duration * packet.time_base) if packet.duration and packet.time_base else 0.0
        yield bytes(packet), abs(seconds - 0.020) < 0.0005


class NotAudio(Exception):
    """The URL answered, but with nothing PyAV can play as audio."""


class OpusSource(discord.AudioSource):
    """One track: Opus packets of 20 ms, read by discord.py's player thread."""

    def __init__(self, container: Any, stream: Any, bitrate: int, complexity: int):
        self._lock = threading.Lock()  # read() (player thread) vs cleanup() (any thread)
        self._container: Any = container
        self._stream = stream
        self._graph: Any = None  # built from the first decoded frame
        # libopus through discord.py's own binding, not PyAV's encoder: PyAV feeds its encoder through a filter
        # graph of its own that starts a thread per CPU core for every player.
        encoder = discord.opus.Encoder(application="audio", bitrate=max(16, bitrate // 1000), fec=True,
                                       expected_packet_loss=0.15, bandwidth="full", signal_type="music")
        discord.opus._lib.opus_encoder_ctl(encoder._state, OPUS_SET_COMPLEXITY, complexity)
        self._encoder = encoder
        self._packets: deque[bytes] = deque()
        self._frames: Iterator[Any] | None = None
        self._copied: Iterator[bytes] | None = None  # Opus packets taken as they are (passthrough)
        self._ahead: Any = None  # the process's encoder threads, once handed over
        self._done = False
        self.frames_sent = 0
        # seconds, from the container (a WAV or a file with a header knows it; a live stream does not)
        self.duration = int(container.duration / 1_000_000) if container.duration else 0

    @staticmethod
    def _open_input(url: str, headers: dict[str, str] | None) -> tuple[Any, Any]:
        options = dict(HTTP_OPTIONS) if url.startswith(("http://", "https://")) else {}
        if headers:
            options["headers"] = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        try:
            container = av.open(url, options=options, timeout=(15.0, 15.0))
        except (av.error.FFmpegError, OSError) as error:
            raise NotAudio(str(error)) from error
        if not container.streams.audio:
            container.close()
            raise NotAudio("no audio stream")
        stream = container.streams.audio[0]
        stream.codec_context.thread_count = 1  # ffmpeg's default is a thread per core for each decoder
        return container, stream

    @classmethod
    def open(cls, url: str, *, bitrate: int = DEFAULT_BITRATE, complexity: int = DEFAULT_COMPLEXITY,
             headers: dict[str, str] | None = None, passthrough: bool = True) -> OpusSource:
        """Blocking: opens `url` (a file path or http(s) URL) and finds its audio stream.

        Opus in 20 ms packets (YouTube's usual bestaudio, Ogg Opus) is sent as it is: no decoding, no encoding.
        """
        container, stream = cls._open_input(url, headers)
        ensure_opus()
        try:
            source = cls(container, stream, bitrate, complexity)
            if passthrough and stream.codec_context.name == "opus":
                copied = _opus_packets(container, stream)
                probe = [next(copied, None) for _ in range(PROBE_PACKETS)]
                if all(p is None or p[1] for p in probe):
                    source._packets.extend(p[0] for p in probe if p is not None)
                    source._copied = (data for data, _ in copied)
                    source._done = probe[-1] is None
                    return source
                source.cleanup()  # frames of another length: decode and encode from the start instead
                container, stream = cls._open_input(url, headers)
                source = cls(container, stream, bitrate, complexity)
            source._fill()  # a file that is not audio fails here, before it is queued as playing
        except NotAudio:
            container.close()
            raise
        if not source._packets:
            source.cleanup()
            raise NotAudio("no audio frames")
        return source

    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        with self._lock:
            if not self._packets and not self._done:
                self._fill()  # the encoder fell behind (or there is none): this slot's packet now
            if not self._packets:
                return b""
            self.frames_sent += 1
            packet = self._packets.popleft()
            low = not self._done and len(self._packets) < LOW_WATER
        if low and self._ahead is not None:
            self._ahead.poke()
        return packet

    def top_up(self, ahead: int) -> bool:
        """Called by the process's encoder threads: one more packet ready, if fewer than `ahead` are."""
        with self._lock:
            if self._done or len(self._packets) >= ahead:
                return False
            before = len(self._packets)
            try:
                self._fill(more=True)
            except NotAudio:
                self._done = True
            return len(self._packets) > before

    def encode_ahead(self, encoder: Any) -> None:
        """Hand this source to the process's encoder threads (features.music.encoder.Encoder)."""
        self._ahead = encoder
        encoder.add(self)

    def _convert(self, frame: Any) -> list[Any]:
        """48 kHz stereo s16 in frames of exactly 960 samples (what the encoder takes), on a one-thread graph:
        av.AudioResampler's graph starts a thread per core for every player."""
        if self._graph is None:
            if frame is None:
                return []
            graph = av.filter.Graph()
            graph.threads = 1
            source = graph.add("abuffer", sample_rate=str(frame.sample_rate), sample_fmt=frame.format.name,
                               channel_layout=frame.layout.name, time_base=str(frame.time_base or "1/48000"))
            convert = graph.add("aformat", sample_rates=str(SAMPLE_RATE), sample_fmts="s16", channel_layouts="stereo")
            sink = graph.add("abuffersink")
            source.link_to(convert)
            convert.link_to(sink)
            graph.configure()
            graph.set_audio_frame_size(FRAME_SAMPLES)
            self._graph = graph
        self._graph.push(frame)
        out = []
        while True:
            try:
                out.append(self._graph.pull())
            except (EOFError, BlockingIOError):
                return out
            except av.error.FFmpegError as error:
                if error.errno != errno.EAGAIN:
                    raise
                return out

    def _decoded(self) -> Iterator[Any]:
        for frame in self._container.decode(self._stream):
            frame.pts = None  # retimed by the graph; a stream with gaps in its timestamps must not stall it
            yield from self._convert(frame)
        yield from self._convert(None)

    def _fill(self, more: bool = False) -> None:
        """Encode until at least one packet is ready (one more with `more`) or the input ends."""
        target = len(self._packets) + 1 if more else 1
        if self._copied is not None:
            try:
                data = next(self._copied, None)
            except (av.error.FFmpegError, OSError):
                data = None
            if data is None:
                self._done = True
            else:
                self._packets.append(data)
            return
        if self._frames is None:
            self._frames = self._decoded()
        try:
            while len(self._packets) < target:
                frame = next(self._frames, None)
                if frame is None:
                    self._done = True
                    return
                pcm = bytes(frame.planes[0])[:frame.samples * FRAME_BYTES_PER_SAMPLE]
                pcm = pcm.ljust(FRAME_SAMPLES * FRAME_BYTES_PER_SAMPLE, b"\0")  # the last frame may be short
                self._packets.append(self._encoder.encode(pcm, FRAME_SAMPLES))
        except (av.error.FFmpegError, OSError) as error:
            self._done = True  # a stream that breaks mid-track ends the track
            if not self.frames_sent and not self._packets:
                raise NotAudio(str(error)) from error

    def cleanup(self) -> None:
        with self._lock:
            self._done = True
            self._packets.clear()
            container, self._container = self._container, None
        if container is not None:
            container.close()
