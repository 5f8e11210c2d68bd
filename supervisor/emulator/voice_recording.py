"""What the voice server heard from one bot in one guild: every decrypted packet, in arrival order.

How to count audio (what a listener hears) against the rest of the stream:
- Silence frames (`f8 ff fe`): discord.py sends five after every pause, stop and end of a source.
- Ogg headers: `FFmpegOpusAudio` (and any source reading an Ogg Opus stream naively) sends the `OpusHead` and
  `OpusTags` pages of the file as its first two payloads.
- Everything else is an audio frame. `audio` holds those only; `rate()` measures audio frames per second from
  their arrival times (Discord's pace is one 20 ms frame per packet: 50 a second).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

OPUS_SILENCE = b"\xf8\xff\xfe"
OGG_HEADERS = (b"OpusHead", b"OpusTags")


@dataclass(frozen=True, slots=True)
class VoicePacket:
    arrived: float  # on time.monotonic(): when the kernel received the datagram (voice_udp.py)
    sequence: int  # RTP sequence number
    timestamp: int  # RTP timestamp (48 kHz samples)
    ssrc: int
    opus: bytes  # the decrypted payload (b"" for audio frames when the recording keeps no payloads)
    size: int  # the payload's length in bytes

    @property
    def silence(self) -> bool:
        return self.opus == OPUS_SILENCE

    @property
    def ogg_header(self) -> bool:
        return self.opus.startswith(OGG_HEADERS)

    @property
    def audio(self) -> bool:
        return not self.silence and not self.ogg_header and self.size > 0


@dataclass
class SpeakingEvent:
    at: float  # time.monotonic()
    speaking: int  # discord.py's SpeakingState bits: 0 none, 1 voice
    ssrc: int


@dataclass
class VoiceRecording:
    """Per bot and guild. Packets from every connection the bot made there (reconnects included) go here."""

    guild_id: int
    user_id: int
    keep_payloads: bool = True
    packets: list[VoicePacket] = field(default_factory=list)
    speaking: list[SpeakingEvent] = field(default_factory=list)
    rejected: int = 0  # packets with this bot's ssrc that failed to decrypt
    audio_count: int = 0
    silence_count: int = 0
    _waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = field(default_factory=list, repr=False)

    # --- views ------------------------------------------------------------------------------------

    @property
    def audio(self) -> list[VoicePacket]:
        """Audio frames only: no silence frames, no Ogg header pages."""
        return [p for p in self.packets if p.audio]

    @property
    def audio_payloads(self) -> list[bytes]:
        """The Opus data of every audio frame, in order (empty bytes without keep_payloads)."""
        return [p.opus for p in self.packets if p.audio]

    @property
    def frame_sizes(self) -> list[int]:
        return [p.size for p in self.audio]

    def since(self, mark: int) -> list[VoicePacket]:
        """Packets after `mark` (a `len(recording.packets)` taken earlier)."""
        return self.packets[mark:]

    def rate(self, packets: list[VoicePacket] | None = None) -> float:
        """Packets per second over `packets` (default: every audio frame): the slope of the least-squares line
        through (arrival time, packet number). It is the sender's steady pace; unlike `span_rate()` one late
        first or last packet barely moves it (discord.py's player catches up after a late wakeup)."""
        chosen = self.audio if packets is None else packets
        if len(chosen) < 2:
            return 0.0
        times = [p.arrived for p in chosen]
        mean_t = statistics.fmean(times)
        mean_i = (len(times) - 1) / 2
        spread = sum((t - mean_t) ** 2 for t in times)
        if spread == 0:
            return float("inf")
        return sum((t - mean_t) * (i - mean_i) for i, t in enumerate(times)) / spread

    def span_rate(self, packets: list[VoicePacket] | None = None) -> float:
        """Packets per second from the first to the last arrival: (count - 1) / span."""
        chosen = self.audio if packets is None else packets
        if len(chosen) < 2:
            return 0.0
        span = chosen[-1].arrived - chosen[0].arrived
        return (len(chosen) - 1) / span if span > 0 else float("inf")

    def gaps(self, packets: list[VoicePacket] | None = None) -> list[float]:
        """Seconds between consecutive arrivals (default: audio frames)."""
        chosen = self.audio if packets is None else packets
        return [b.arrived - a.arrived for a, b in itertools.pairwise(chosen)]

    def gap_percentile(self, q: float, packets: list[VoicePacket] | None = None) -> float:
        gaps = self.gaps(packets)
        if not gaps:
            return 0.0
        if len(gaps) == 1:
            return gaps[0]
        return statistics.quantiles(gaps, n=100, method="inclusive")[min(98, max(0, round(q) - 1))]

    # --- recording and waiting --------------------------------------------------------------------

    def add(self, packet: VoicePacket) -> None:
        if packet.silence:
            self.silence_count += 1
        elif packet.audio:
            self.audio_count += 1
            if not self.keep_payloads:
                packet = VoicePacket(packet.arrived, packet.sequence, packet.timestamp, packet.ssrc, b"", packet.size)
        self.packets.append(packet)
        self._wake()

    def add_speaking(self, event: SpeakingEvent) -> None:
        self.speaking.append(event)
        self._wake()

    def _wake(self) -> None:
        for entry in list(self._waiters):
            condition, future = entry
            if not future.done() and condition():
                future.set_result(None)
                self._waiters.remove(entry)

    async def wait_for(self, condition: Callable[[VoiceRecording], bool], timeout: float = 10.0) -> None:
        """Wait until `condition(recording)` holds (checked on every packet); TimeoutError saying what arrived."""
        if condition(self):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (lambda: condition(self), future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise TimeoutError(
                f"voice recording of user {self.user_id} in guild {self.guild_id}: condition not met within "
                f"{timeout}s ({len(self.packets)} packets, {len(self.audio)} audio, {self.silence_count} silence, "
                f"{self.rejected} rejected)"
            ) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def wait_audio(self, count: int, timeout: float = 10.0) -> None:
        """Wait until at least `count` audio frames have arrived."""
        await self.wait_for(lambda r: r.audio_count >= count, timeout)

    async def wait_quiet(self, seconds: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until no packet has arrived for `seconds` (the stream stopped), checked every few ms."""
        async with asyncio.timeout(timeout):
            while True:
                idle = time.monotonic() - self.packets[-1].arrived if self.packets else seconds
                if idle >= seconds:
                    return
                await asyncio.sleep(min(0.05, seconds - idle + 0.001))
