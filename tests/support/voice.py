"""Voice in tests: libopus for discord.py's encoder, and an audio source of our own that remembers what it sent.

discord.py encodes with libopus through ctypes (`discord.opus`); it finds the library with
`ctypes.util.find_library("opus")`, which needs the system's libopus (Debian: libopus0) *and* a linker cache or
toolchain to find it. PyNaCl and davey (discord.py[voice]) ship no libopus. PyAV's wheels bundle one
(`av.libs/libopus-*.so*`), so `load_libopus()` tries the system's, then PyAV's.
"""

from __future__ import annotations

import array
import ctypes.util
import functools
import importlib.util
import math
from pathlib import Path

import discord
import discord.opus

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz: one RTP packet
CHANNELS = 2


def _candidates() -> list[str]:
    found: list[str] = []
    system = ctypes.util.find_library("opus")
    if system:
        found.append(system)
    found.append("libopus.so.0")  # the dynamic loader's own search, without ldconfig or a compiler
    spec = importlib.util.find_spec("av")
    if spec is not None and spec.origin is not None:
        libs = Path(spec.origin).parent.parent / "av.libs"
        found += sorted(str(p) for p in libs.glob("libopus*.so*"))
    return found


def load_libopus() -> str:
    """Load libopus into discord.opus (once per process); returns which one. RuntimeError if none is found."""
    if discord.opus.is_loaded():
        return "already loaded"
    tried = []
    for candidate in _candidates():
        try:
            discord.opus.load_opus(candidate)
        except OSError as error:
            tried.append(f"{candidate}: {error}")
            continue
        return candidate
    raise RuntimeError("no libopus for discord.py: install libopus0 (apt) or PyAV (pip install av); tried "
                       + "; ".join(tried))


@functools.lru_cache(maxsize=16)
def tone_cycle(frequency: int, amplitude: float = 0.3) -> tuple[bytes, ...]:
    """One second of a sine tone as 50 Opus frames (discord.opus.Encoder). A whole number of hertz repeats every
    second, so the cycle loops seamlessly; encoded once per process (libopus takes a few ms a frame, too much
    for a starved audio thread to do live at 50 frames a second on a loaded 2-core machine)."""
    load_libopus()
    encoder = discord.opus.Encoder()
    step = 2 * math.pi * frequency / SAMPLE_RATE
    peak = 32767 * amplitude
    frames = []
    for start in range(0, SAMPLE_RATE, FRAME_SAMPLES):
        samples = array.array("h")
        for i in range(start, start + FRAME_SAMPLES):
            value = int(peak * math.sin(step * i))
            samples.extend((value, value))
        frames.append(encoder.encode(samples.tobytes(), FRAME_SAMPLES))
    return tuple(frames)


class ToneSource(discord.AudioSource):
    """`seconds` of a sine tone at `frequency` Hz (whole hertz) as 20 ms Opus frames, sent as they are.

    `sent` holds every frame handed to discord.py, in order: a recording of the same bot must hold exactly
    these. The frames come from `tone_cycle`, encoded here (once per frequency and process: call
    `tone_cycle` in a thread first where the event loop must not wait): a first read that took a few hundred ms
    would make discord.py's player send a catch-up burst. Each read is then as cheap as reading an Opus stream.
    """

    def __init__(self, frequency: int, seconds: float, *, amplitude: float = 0.3) -> None:
        load_libopus()
        self.frequency = frequency
        self.amplitude = amplitude
        self.frames_left = round(seconds * SAMPLE_RATE / FRAME_SAMPLES)
        self.sent: list[bytes] = []
        self._cycle = tone_cycle(frequency, amplitude)

    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        if self.frames_left <= 0:
            return b""
        self.frames_left -= 1
        frame = self._cycle[len(self.sent) % len(self._cycle)]
        self.sent.append(frame)
        return frame
