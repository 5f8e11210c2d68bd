"""Extra certificate authorities the bots trust for Discord's TLS endpoints (the emulator's wss voice server).

discord.py opens the voice websocket at `wss://{endpoint}/?v=8` through the bot's own aiohttp session, so the
way to reach a local voice server honestly is to make that session trust the local server's CA. Like the REST
base and gateway URL (endpoints.py), this is set once per process before bots start and applies to all of them:
`trust_extra_ca()` builds one SSL context (the system's CAs plus the extra ones), and every bot built afterwards
gets a connector of its own that uses it. Without an extra CA, bots keep discord.py's default connector.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp


class _Trust:
    # Process-global by nature, like discord.http.Route.BASE: one context shared read-only by every bot.
    context: ssl.SSLContext | None = None


def trust_extra_ca(ca: str | Path | bytes | None) -> None:
    """Trust the CA certificate(s) in `ca` (a PEM file path, or PEM bytes) besides the system's; None undoes it.

    Raises ValueError naming the file when it cannot be read as PEM certificates."""
    if ca is None:
        _Trust.context = None
        return
    context = ssl.create_default_context()
    try:
        if isinstance(ca, bytes):
            context.load_verify_locations(cadata=ca.decode("ascii"))
        else:
            context.load_verify_locations(cafile=str(ca))
    except (OSError, ssl.SSLError, UnicodeDecodeError) as error:
        where = "the given PEM" if isinstance(ca, bytes) else str(ca)
        raise ValueError(f"CA file {where}: cannot load certificates: {error}") from None
    _Trust.context = context


def bot_connector() -> aiohttp.TCPConnector | None:
    """A connector for one new bot (never share one between bots), or None for discord.py's own default."""
    if _Trust.context is None:
        return None
    return aiohttp.TCPConnector(limit=0, ssl=_Trust.context)  # discord.py's default, plus the extra trust


def extra_trust() -> ssl.SSLContext | None:
    return _Trust.context
