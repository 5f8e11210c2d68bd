"""The voice server's UDP socket, stamping each datagram with the time the kernel received it.

A packet's arrival time is when it reached the machine's loopback, not when the event loop got round to reading
it: the emulator shares its loop with the bots in most tests, so a busy loop would otherwise bunch arrivals and
blur a measured packet rate. On Linux the kernel stamps every datagram (SO_TIMESTAMPNS); elsewhere, or if the
option is refused, the read time is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import time
from collections.abc import Callable

# Linux's values (asm-generic/socket.h; Python does not export them). The control message is a struct timespec.
_SO_TIMESTAMPNS = 35
_SO_RCVBUFFORCE = 33
_SO_RXQ_OVFL = 40  # each datagram then carries the socket's running count of datagrams the kernel dropped
_TIMESPEC = struct.Struct("@qq")
_COUNTER = struct.Struct("@I")
_READS_PER_WAKEUP = 512  # then let the loop run other work; the rest stays queued in the socket
# Fifty bots send 2,500 datagrams a second to this one socket; the default buffer (about 200 KB, a few hundred
# loopback datagrams) overflows during a 100 ms stall of a loop shared with the bots, and the kernel drops them.
_RECEIVE_BUFFER = 4 * 1024 * 1024

Receiver = Callable[[bytes, tuple[str, int], float], None]  # (datagram, source, arrival on time.monotonic())


class StampedUdp:
    def __init__(self, host: str, receiver: Receiver) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind((host, 0))
        self.port: int = self.sock.getsockname()[1]
        self.stamped = False
        self.dropped = 0  # datagrams the kernel dropped for a full receive buffer (Linux), as of the last read
        self._grow_buffer()
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                self.stamped = True
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
        self._receiver = receiver
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._drain)

    def _grow_buffer(self) -> None:
        """Beyond net.core.rmem_max where allowed (Linux, root or CAP_NET_ADMIN), else up to it: a nicety."""
        if sys.platform.startswith("linux"):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _RECEIVE_BUFFER)
                return
            except OSError:
                pass
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)

    def _drain(self) -> None:
        # Kernel stamps are CLOCK_REALTIME; recordings use time.monotonic(). One offset per wakeup.
        offset = time.monotonic() - time.time()
        for _ in range(_READS_PER_WAKEUP):
            try:
                data, ancillary, _flags, addr = self.sock.recvmsg(
                    4096, socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_COUNTER.size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error from a peer whose socket closed: nothing to read for it
            arrived = time.monotonic()
            for level, kind, payload in ancillary:
                if level != socket.SOL_SOCKET:
                    continue
                if kind == _SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                    seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
                    arrived = seconds + nanoseconds / 1e9 + offset
                elif kind == _SO_RXQ_OVFL and len(payload) >= _COUNTER.size:
                    self.dropped = _COUNTER.unpack_from(payload)[0]
            self._receiver(data, addr, arrived)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):  # a full buffer or a gone peer: UDP may drop, as the network would
            self.sock.sendto(data, addr)

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
