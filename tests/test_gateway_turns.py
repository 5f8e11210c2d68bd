"""Gateway messages take turns (supervisor/runtime/gateway_reads.py): a burst to many bots is handled a few
messages per event-loop turn, first come first served, and a timer due meanwhile runs between turns instead of
after the whole burst."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from supervisor.runtime.gateway_reads import ReadTurns, TurnTakingWebSocketResponse, read_turns


async def test_a_burst_is_let_through_a_few_per_loop_turn_in_arrival_order() -> None:
    loop = asyncio.get_running_loop()
    turns = ReadTurns(loop, per_turn=4)
    handled: list[tuple[int, int]] = []  # (message, loop turn it was handled in)
    turn_count = 0

    def count_turns() -> None:  # runs once per loop turn, as asyncio runs each ready callback once
        nonlocal turn_count
        turn_count += 1
        if len(handled) < 20:
            loop.call_soon(count_turns)

    async def message(number: int) -> None:
        await turns.turn()
        handled.append((number, turn_count))

    loop.call_soon(count_turns)
    await asyncio.gather(*(message(n) for n in range(20)))

    assert [number for number, _ in handled] == list(range(20))
    per_turn: dict[int, int] = {}
    for _, seen_in in handled:
        per_turn[seen_in] = per_turn.get(seen_in, 0) + 1
    assert max(per_turn.values()) <= 4
    assert len(per_turn) >= 5  # 20 messages, 4 a turn


async def test_a_timer_due_during_a_burst_runs_before_the_burst_is_done() -> None:
    loop = asyncio.get_running_loop()
    turns = ReadTurns(loop, per_turn=2)
    handled: list[int] = []
    seen_by_timer: list[int] = []

    async def message(number: int) -> None:
        await turns.turn()
        handled.append(number)
        if number == 0:  # a heartbeat timer falls due as the burst begins
            loop.call_soon(lambda: seen_by_timer.append(len(handled)))

    await asyncio.gather(*(message(n) for n in range(50)))

    assert len(handled) == 50
    assert seen_by_timer and seen_by_timer[0] < 10


async def test_a_message_whose_bot_closed_while_it_waited_does_not_hold_up_the_others() -> None:
    loop = asyncio.get_running_loop()
    turns = ReadTurns(loop, per_turn=1)
    handled: list[int] = []

    async def message(number: int) -> None:
        await turns.turn()
        handled.append(number)

    tasks = [loop.create_task(message(n)) for n in range(6)]
    await asyncio.sleep(0)  # every one has asked for its turn; the first went through
    tasks[2].cancel()
    tasks[3].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    assert handled == [0, 1, 4, 5]
    assert not turns.waiting


async def test_a_heartbeat_ack_is_handled_at_once_while_a_burst_waits_its_turn() -> None:
    """Through a real websocket: a bot reads its heartbeat ACK at once while other bots' burst waits its turns."""
    async def gateway(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str('{"op":11,"d":null,"s":null,"t":null}')
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/", gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    turns = read_turns()
    blocked = [asyncio.get_running_loop().create_future() for _ in range(turns.per_turn * 3)]
    turns.waiting.extend(blocked)  # a burst of other bots' messages is queued ahead
    try:
        async with (aiohttp.ClientSession(ws_response_class=TurnTakingWebSocketResponse) as session,
                    session.ws_connect(f"http://127.0.0.1:{port}/") as ws):
            first = await asyncio.wait_for(ws.receive(), 10)
            assert first.data.startswith('{"op":11')
            assert not any(waiter.done() for waiter in blocked)  # read before the burst had its turns
    finally:
        for waiter in blocked:
            waiter.cancel()
        turns.waiting.clear()
        await runner.cleanup()
