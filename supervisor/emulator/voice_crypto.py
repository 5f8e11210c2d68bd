"""Decrypting RTP voice packets in every transport encryption mode discord.py can pick.

discord.py 2.7 offers aead_xchacha20_poly1305_rtpsize (the one Discord still accepts) and the retired
xsalsa20_poly1305{,_suffix,_lite}; Discord's other current mode, aead_aes256_gcm_rtpsize, is decrypted too so a
client that prefers it can be tested. "rtpsize" modes authenticate the RTP header (and the 4-byte extension
header, if any) as associated data and append a 32-bit nonce counter to the packet.
"""

from __future__ import annotations

import struct

import nacl.bindings
import nacl.exceptions
import nacl.secret
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

XCHACHA = "aead_xchacha20_poly1305_rtpsize"
AES_GCM = "aead_aes256_gcm_rtpsize"
XSALSA = "xsalsa20_poly1305"
XSALSA_SUFFIX = "xsalsa20_poly1305_suffix"
XSALSA_LITE = "xsalsa20_poly1305_lite"

# What the emulator's READY offers, most preferred first (discord.py takes the first it supports). Real Discord
# offers the two AEAD modes only; the retired modes can be offered by a test (VoiceServer.modes).
DEFAULT_MODES = (AES_GCM, XCHACHA)
ALL_MODES = (AES_GCM, XCHACHA, XSALSA_LITE, XSALSA_SUFFIX, XSALSA)

RTP_HEADER = 12


class DecryptError(ValueError):
    pass


def _header_length(packet: bytes) -> tuple[int, bool]:
    """Bytes of the clear RTP header (fixed part, CSRCs, extension header) and whether it has an extension."""
    if len(packet) < RTP_HEADER:
        raise DecryptError("shorter than an RTP header")
    csrc = packet[0] & 0x0F
    extended = bool(packet[0] & 0x10)
    return RTP_HEADER + 4 * csrc + (4 if extended else 0), extended


def _strip_extension(packet: bytes, clear: bytes, extended: bool) -> bytes:
    """rtpsize: the extension's body is encrypted with the payload; drop it to leave the Opus data."""
    if not extended:
        return clear
    words = struct.unpack_from(">H", packet, _header_length(packet)[0] - 2)[0]
    return clear[4 * words:]


def decrypt(mode: str, key: bytes, packet: bytes) -> bytes:
    """The Opus payload of one voice packet; DecryptError if it is not authentic under `key` and `mode`."""
    try:
        if mode in (XCHACHA, AES_GCM):
            clear_len, extended = _header_length(packet)
            if len(packet) < clear_len + 4 + 16:
                raise DecryptError("too short for an AEAD packet")
            aad, body, counter = packet[:clear_len], packet[clear_len:-4], packet[-4:]
            if mode == XCHACHA:
                clear = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    body, aad, counter + bytes(20), key)
            else:
                clear = AESGCM(key).decrypt(counter + bytes(8), body, aad)
            return _strip_extension(packet, clear, extended)
        box = nacl.secret.SecretBox(key)
        if mode == XSALSA:
            return box.decrypt(packet[RTP_HEADER:], packet[:RTP_HEADER] + bytes(12))
        if mode == XSALSA_SUFFIX:
            return box.decrypt(packet[RTP_HEADER:-24], packet[-24:])
        if mode == XSALSA_LITE:
            return box.decrypt(packet[RTP_HEADER:-4], packet[-4:] + bytes(20))
    except (nacl.exceptions.CryptoError, InvalidTag, ValueError) as error:
        if isinstance(error, DecryptError):
            raise
        raise DecryptError(f"{mode}: {type(error).__name__}") from None
    raise DecryptError(f"unknown mode {mode!r}")
