"""Gateway compression with no memory kept per connection.

discord.py asks for transport compression: zstd-stream whenever the zstandard package is installed (other
dependencies pull it in), else zlib-stream. Both keep a decompression window per connection for as long as it
lives: zstd's is what the sender chose, megabytes once enough data has passed (about 4 MB per busy bot,
bench/chatter.py); zlib-stream's is 32 KiB plus its state, about 40 KB per bot (tracemalloc at 300 bots), which at
10,000 bots is 400 MB. So the daemon asks for no transport compression and relies on payload compression instead:
discord.py's IDENTIFY always says `compress: true`, and Discord then sends each large payload (READY, GUILD_CREATE)
as one whole zlib stream in a binary frame, small ones as plain text. Each binary frame is decompressed on its
own; nothing stays between messages. What it costs: small events travel uncompressed (a MESSAGE_CREATE is a
few hundred bytes to a few KB).
"""

from __future__ import annotations

import zlib
from typing import Any

import discord.gateway
import discord.utils


class PayloadZlibContext:
    """A connection's reader of payload-compressed frames (the protocol discord.py's gateway calls)."""

    __slots__ = ()

    COMPRESSION_TYPE = "zlib-stream"  # never asked for: the connection URL carries no `compress`

    def decompress(self, data: bytes, /) -> str | None:
        """A binary frame is one whole payload, compressed alone."""
        return zlib.decompress(data).decode("utf-8")


_original_from_client = discord.gateway.DiscordWebSocket.from_client.__func__  # type: ignore[attr-defined]


async def _from_client_uncompressed(cls: Any, client: Any, **kwargs: Any) -> Any:
    kwargs["compress"] = False  # no transport compression in the connection URL
    return await _original_from_client(cls, client, **kwargs)


def use_bounded_compression() -> None:
    """Every gateway connection opened from now on in this process asks for no transport compression and reads
    payload-compressed frames (process-global, like the REST base URL: discord.py reads both when a connection
    starts)."""
    discord.utils._ActiveDecompressionContext = PayloadZlibContext
    discord.gateway.DiscordWebSocket.from_client = classmethod(_from_client_uncompressed)  # type: ignore[assignment]
