"""Images for a vision model: each fits 1024x1024, re-encoded as JPEG, sent as a data URI. Decoding runs in a
thread (Pillow is CPU work); an image that is too big or unreadable is skipped."""

from __future__ import annotations

import asyncio
import base64
import io

import discord
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_SIDE = 1024
MAX_IMAGES = 4
Image.MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


def image_attachments(*messages: discord.Message | None) -> list[discord.Attachment]:
    found = [a for m in messages if m is not None for a in m.attachments
             if (a.content_type or "").startswith("image/") and a.size <= MAX_IMAGE_BYTES]
    return found[:MAX_IMAGES]


def to_jpeg(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=85)
        return out.getvalue()


async def data_uris(attachments: list[discord.Attachment]) -> list[str]:
    uris = []
    for attachment in attachments:
        try:
            data = await attachment.read()
            jpeg = await asyncio.to_thread(to_jpeg, data)
        except (discord.HTTPException, UnidentifiedImageError, OSError, Image.DecompressionBombError):
            continue
        uris.append("data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii"))
    return uris
