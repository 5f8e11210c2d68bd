"""The daemon's event loop handles a slice of the ready sockets per turn: a burst of replies arriving together does
not hold the loop for all of them at once, and every socket still gets its data, in order."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

from supervisor.runtime.io_turns import IO_PER_TURN, turn_taking_loop


def handled_per_turn(loop: asyncio.AbstractEventLoop, sockets: int) -> tuple[Counter[int], dict[int, bytes]]:
    """Make `sockets` sockets readable at once; count how many read callbacks ran in each loop turn."""
    pairs = [socket.socketpair() for _ in range(sockets)]
    turn = 0
    per_turn: Counter[int] = Counter()
    received: dict[int, bytes] = {}
    done = loop.create_future()

    def next_turn() -> None:  # call_soon from a callback runs in the next turn: this counts turns
        nonlocal turn
        turn += 1
        if not done.done():
            loop.call_soon(next_turn)

    def readable(index: int, reader: socket.socket) -> None:
        per_turn[turn] += 1
        received[index] = reader.recv(100)
        loop.remove_reader(reader.fileno())
        if len(received) == sockets:
            done.set_result(None)

    try:
        for index, (reader, writer) in enumerate(pairs):
            reader.setblocking(False)
            loop.add_reader(reader.fileno(), readable, index, reader)
            writer.send(f"reply {index}".encode())
        loop.call_soon(next_turn)
        loop.run_until_complete(asyncio.wait_for(done, 10))
    finally:
        for reader, writer in pairs:
            reader.close()
            writer.close()
    return per_turn, received


def test_a_burst_of_ready_sockets_is_handled_a_slice_per_turn() -> None:
    loop = turn_taking_loop()
    try:
        per_turn, received = handled_per_turn(loop, 300)
    finally:
        loop.close()
    assert received == {index: f"reply {index}".encode() for index in range(300)}
    assert max(per_turn.values()) == IO_PER_TURN
    assert len(per_turn) >= 300 // IO_PER_TURN  # every socket had its turn, a slice at a time


def test_asyncio_alone_handles_the_whole_burst_in_one_turn() -> None:
    # What the daemon's loop is for: the stock loop runs every ready socket's callback in one turn.
    loop = asyncio.new_event_loop()
    try:
        per_turn, received = handled_per_turn(loop, 300)
    finally:
        loop.close()
    assert len(received) == 300
    assert max(per_turn.values()) == 300
