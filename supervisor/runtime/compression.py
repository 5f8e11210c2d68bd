"""Gateway transport compression with a small, fixed memory cost per connection.

discord.py asks for zstd-stream whenever the zstandard package is installed (other dependencies pull it in).
A zstd stream's window is what the sender chose, megabytes, and the decompressor keeps that window for each
connection once enough data has passed: about 4 MB per busy bot (bench/chatter.py). zlib-stream's window is
32 KiB. One process hosts hundreds of connections, so the daemon asks for zlib-stream.
"""

from __future__ import annotations

import zlib

import discord.utils

_SYNC_FLUSH = b"\x00\x00\xff\xff"  # every gateway message ends a zlib flush


class ZlibStreamContext:
    """One connection's zlib-stream decompressor (the protocol discord.py's gateway calls)."""

    __slots__ = ("buffer", "context")

    COMPRESSION_TYPE = "zlib-stream"

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.context = zlib.decompressobj()

    def decompress(self, data: bytes, /) -> str | None:
        """The message once its last frame arrived, else None (a message may span frames)."""
        self.buffer.extend(data)
        if len(data) < 4 or data[-4:] != _SYNC_FLUSH:
            return None
        message = self.context.decompress(self.buffer)
        self.buffer = bytearray()
        return message.decode("utf-8")


def use_bounded_compression() -> None:
    """Every gateway connection opened from now on in this process uses zlib-stream (process-global, like the
    REST base URL: discord.py reads it when a connection starts)."""
    discord.utils._ActiveDecompressionContext = ZlibStreamContext
