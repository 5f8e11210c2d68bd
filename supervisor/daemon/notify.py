"""systemd's sd_notify protocol, in a few lines: datagrams to $NOTIFY_SOCKET. A no-op outside systemd."""

from __future__ import annotations

import contextlib
import os
import socket
import time


class Notifier:
    def __init__(self, address: str | None = None):
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        watchdog_usec = os.environ.get("WATCHDOG_USEC")
        # Ping at half the watchdog interval, as systemd recommends.
        self.watchdog_interval = int(watchdog_usec) / 2_000_000 if watchdog_usec and watchdog_usec.isdigit() else None

    def send(self, *fields: str) -> None:
        if not self.address:
            return
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        # Best effort: systemd gone or the socket not ours must never stop the daemon.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock, \
                contextlib.suppress(OSError):
            sock.setblocking(False)  # a full queue must never stall the event loop
            sock.sendto("\n".join(fields).encode(), address)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def reloading(self) -> None:
        self.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")
