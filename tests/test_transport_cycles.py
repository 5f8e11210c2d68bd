"""A closed TCP connection's transport is freed at once, not left for a (frozen-heap) garbage collection."""

from __future__ import annotations

import asyncio
import gc
import weakref

from supervisor.runtime.transport_cycles import free_closed_transports


async def closed_transport() -> weakref.ref[asyncio.Transport]:
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    transport = weakref.ref(writer.transport)
    await reader.read()  # the server closed its end
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    for _ in range(3):
        await asyncio.sleep(0)  # connection_lost runs in a callback of its own
    return transport


async def test_a_closed_connection_needs_no_collection() -> None:
    free_closed_transports()
    gc.disable()
    try:
        transport = await closed_transport()
        assert transport() is None
    finally:
        gc.enable()
