"""Three daemons as three hosts (their own trees, runtime directories and control sockets; one database, one
emulator): instances split evenly, each bot runs exactly once, and a join moves only the newcomer's share."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import TcpProxy, eventually, run_cli_async
from tests.support.folders import REPO
from tests.support.hosts import Pinger, SessionSampler, make_hosts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTANCES = 9
TAKEOVER_SECONDS = 15.0


def moved(before: dict[str, list[int]], after: dict[str, list[int]]) -> int:
    return sum(before[name] != after[name] for name in before)


async def test_three_daemons_started_one_after_another_split_the_instances_evenly(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    try:
        async with SessionSampler(emu, [bot.token for bot in hosts.bots]) as sampler:
            first = await hosts.add_daemon().start()
            alone = await hosts.wait_settled([first])
            assert all(on == [0] for on in alone.values())
            second = await hosts.add_daemon().start()
            two = await hosts.wait_settled([first, second])
            assert sorted(sum(on == [i] for on in two.values()) for i in (0, 1)) == [4, 5]
            assert moved(alone, two) <= 5  # the newcomer's share, nothing else
            third = await hosts.add_daemon().start()
            three = await hosts.wait_settled([first, second, third])
            assert [sum(on == [i] for on in three.values()) for i in (0, 1, 2)] == [3, 3, 3]
            assert moved(two, three) <= 3
        assert sampler.most == 1 and sampler.overlap_seconds() == 0.0
        assert all(emu.most_sessions(bot.token) == 1 for bot in hosts.bots)

        pids = {hosts.daemons.index(d): d.process.pid for d in hosts.daemons if d.process}
        expected = sorted((name, pids[on[0]]) for name, on in three.items())

        async def fleet_shows_placement() -> bool:  # the rows follow within a heartbeat
            code, out, err = await run_cli_async("status", "--fleet", "--json", "--control-socket",
                                                 str(third.control_socket))
            assert code == 0, err
            rows = [row for row in json.loads(out) if row["state"] == "running" and row["held"]]
            return sorted((row["name"], row["pid"]) for row in rows) == expected

        await eventually(fleet_shows_placement, timeout=20)

        async def table_shows_the_others_standing_by() -> bool:  # each standby's row follows within a look
            code, out, err = await run_cli_async("status", "--fleet", "--control-socket", str(first.control_socket))
            assert code == 0, err
            lines = out.splitlines()
            assert lines[0].split() == ["INSTANCE", "HOST", "PID", "STATE", "SINCE", "DAEMON"]
            return (sum("running elsewhere" in line for line in lines) == 2 * INSTANCES
                    and any("this daemon" in line and str(pids[0]) in line for line in lines))

        await eventually(table_shows_the_others_standing_by, timeout=20)
    finally:
        await hosts.stop_all()


async def test_kill_9_of_one_daemon_moves_its_instances_to_the_others_within_15_seconds(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    try:
        async with SessionSampler(emu, [bot.token for bot in hosts.bots]) as sampler:
            daemons = [await hosts.add_daemon().start() for _ in range(3)]
            placed = await hosts.wait_settled(daemons)
            victim = daemons[0]
            assert victim.process is not None
            victim.process.kill()
            await victim.process.wait()
            mine = [name for name, on in placed.items() if on == [0]]
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            await hosts.wait_settled(daemons[1:], timeout=TAKEOVER_SECONDS + 30, evenly=False)
            elapsed = loop.time() - killed_at
            assert mine and elapsed < TAKEOVER_SECONDS, elapsed
            await hosts.wait_settled(daemons[1:])  # then the shares even out, one handoff at a time
        assert sampler.most == 1 and sampler.overlap_seconds() == 0.0
        code, out, err = await run_cli_async("status", "--fleet", "--control-socket", str(daemons[1].control_socket))
        assert code == 0, err
        victim_lines = [line for line in out.splitlines() if f" {victim.process.pid} " in line]
        assert victim_lines and all("gone (last heartbeat" in line for line in victim_lines)
    finally:
        await hosts.stop_all()


async def test_a_daemon_back_after_a_kill_9_gets_the_bots_taken_over_and_the_others_own_bots_never_move(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    """The others hand back what they took over, not bots that ran on them all along (a reconnect each)."""
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    try:
        daemons = [await hosts.add_daemon().start() for _ in range(3)]
        placed = await hosts.wait_settled(daemons)
        victim = daemons[0]
        assert victim.process is not None
        kept = [bot for bot in hosts.bots if placed[bot.name] != [0]]  # the other daemons' own bots
        identifies = {bot.token: emu.identify_count(bot.token) for bot in kept}
        async with Pinger(emu, kept, interval=0.5) as pinger:
            victim.process.kill()
            await victim.process.wait()
            await hosts.wait_settled(daemons[1:], timeout=TAKEOVER_SECONDS + 60)  # its bots run on the others
            await victim.start()  # the same host (node) again: it takes a share back, one handoff at a time
            back = await hosts.wait_settled(daemons)
        assert {bot.token: emu.identify_count(bot.token) for bot in kept} == identifies
        assert all(back[bot.name] == placed[bot.name] for bot in kept)
        await eventually(lambda: all(count == 1 for count in pinger.replies()))
    finally:
        await hosts.stop_all()


async def test_a_daemon_cut_off_from_postgres_stops_its_bots_before_the_others_start_them(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    proxy = await TcpProxy(database_url).start()
    try:
        async with SessionSampler(emu, [bot.token for bot in hosts.bots]) as sampler:
            cut_off = await hosts.add_daemon(database_url=proxy.url).start()  # reaches Postgres through the proxy
            others = [await hosts.add_daemon().start() for _ in range(2)]
            placed = await hosts.wait_settled([cut_off, *others])
            assert any(on == [0] for on in placed.values())
            loop = asyncio.get_running_loop()
            await proxy.cut()  # Discord stays reachable
            cut_at = loop.time()
            await hosts.wait_settled(others, timeout=TAKEOVER_SECONDS + 30, evenly=False)
            assert loop.time() - cut_at < TAKEOVER_SECONDS
            await hosts.wait_settled(others)  # then the shares even out, one handoff at a time
            await cut_off.wait_log(lambda e: e.get("event") == "lease_fenced")
            assert await hosts.running(cut_off) == set()
            await proxy.start()  # healed: it takes its share back, one instance at a time
            await hosts.wait_settled([cut_off, *others])
        assert sampler.most == 1 and sampler.overlap_seconds() == 0.0
    finally:
        await hosts.stop_all()
        await proxy.cut()


async def test_a_frozen_daemon_is_replaced_and_on_waking_answers_nothing(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    try:
        daemons = [await hosts.add_daemon().start() for _ in range(3)]
        placed = await hosts.wait_settled(daemons)
        frozen = daemons[0]
        assert frozen.process is not None
        mine = [bot for bot in hosts.bots if placed[bot.name] == [0]]
        loop = asyncio.get_running_loop()
        frozen.process.send_signal(signal.SIGSTOP)
        try:
            stopped_at = loop.time()
            await eventually(lambda: all(emu.session_count(bot.token) == 2 for bot in mine),
                             timeout=TAKEOVER_SECONDS + 30)  # the others run them; the frozen socket stays open
            assert loop.time() - stopped_at < TAKEOVER_SECONDS
            pinger = Pinger(emu, mine)
            await pinger.ping_once()  # each answered once, by the new holder
            await eventually(lambda: all(count == 1 for count in pinger.replies()))
        finally:
            frozen.process.send_signal(signal.SIGCONT)
        await pinger.ping_once()  # right after waking: the stale bots must not answer these, nor the earlier ones
        await frozen.wait_log(lambda e: e.get("event") == "lease_fenced")
        await eventually(lambda: all(count == 1 for count in pinger.replies()))
        await hosts.wait_settled(daemons)  # it rejoins and gets its share back
        await pinger.ping_once()
        await eventually(lambda: all(count == 1 for count in pinger.replies()))
        assert all(count == 1 for count in pinger.replies())
    finally:
        await hosts.stop_all()


async def test_a_daemon_whose_event_loop_is_held_keeps_its_leases_and_its_bots_connected(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    """A loop held longer than the fencing bound (a bot's blocking call, a saturated loop): the heartbeat runs on
    a thread of its own, so the session stays confirmed and nothing is fenced or moved. (A frozen process loses
    its leases all the same: the test above.)"""
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, 4)
    try:
        async with SessionSampler(emu, [bot.token for bot in hosts.bots]) as sampler:
            held = await hosts.add_daemon(program=(str(REPO / "tests" / "support" / "loop_holder.py"),)).start()
            other = await hosts.add_daemon().start()
            placed = await hosts.wait_settled([held, other])
            mine = [bot for bot in hosts.bots if placed[bot.name] == [0]]
            assert mine and held.process is not None
            identifies = {bot.token: emu.identify_count(bot.token) for bot in hosts.bots}
            start = len(held.logs)
            held.process.send_signal(signal.SIGUSR1)  # its loop is held for 6 s: longer than FENCE_AFTER (4 s)
            await held.wait_log(lambda e: e.get("event") == "event_loop_stalled" and e["stalled_ms"] >= 5000,
                                start=start)  # logged once the loop runs again
            pinger = Pinger(emu, hosts.bots)
            await pinger.ping_once()  # answered by the same sessions: nobody was cut off or moved
            await eventually(lambda: all(count == 1 for count in pinger.replies()))
            assert await hosts.placement() == placed
        assert [e for e in held.logs if e.get("event") in ("lease_fenced", "lease_session_lost")] == []
        assert {bot.token: emu.identify_count(bot.token) for bot in hosts.bots} == identifies
        assert sampler.most == 1
    finally:
        await hosts.stop_all()


async def test_drain_hands_every_instance_to_the_others_and_undrain_takes_a_share_back(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    try:
        daemons = [await hosts.add_daemon().start() for _ in range(3)]
        placed = await hosts.wait_settled(daemons)
        drained = daemons[0]
        mine = [bot for bot in hosts.bots if placed[bot.name] == [0]]
        async with SessionSampler(emu, [bot.token for bot in hosts.bots]) as sampler, Pinger(emu, mine) as pinger:
            code, out, err = await run_cli_async("drain", "--control-socket", str(drained.control_socket),
                                                 timeout=120)
            assert code == 0, err
            assert "drained" in out
        where = await hosts.placement()
        assert all(len(where[bot.name]) == 1 and where[bot.name] != [0] for bot in mine)
        assert await hosts.running(drained) == set()
        await asyncio.sleep(0.3)  # replies to the last pings
        replies = pinger.replies()
        assert max(replies) == 1  # never answered twice
        assert replies.count(1) > len(replies) // 2  # and mostly answered: each bot is down for one reconnect
        assert sampler.most == 1 and sampler.overlap_seconds() == 0.0
        # A drained instance's lease is released cleanly, so its taker starts it at once: no taker waits out the
        # fence bound of a lost holder (6 s), let alone a lone holder's (60 s). Said by the takers' own logs; the
        # offline time itself depends on the machine's load (a generous bound still catches the 60 s wait).
        names = {bot.name for bot in mine}
        waited = [entry for daemon in daemons[1:] for entry in daemon.logs
                  if entry.get("event") == "lease_waiting_for_previous_holder" and entry.get("instance") in names]
        assert waited == []
        assert all(emu.session_gap(bot.token) < 30 for bot in mine)

        code, out, err = await run_cli_async("undrain", "--control-socket", str(drained.control_socket))
        assert code == 0, err
        await hosts.wait_settled(daemons)
    finally:
        await hosts.stop_all()


async def test_drain_says_which_instances_no_other_daemon_has(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, 1)
    try:
        alone = await hosts.add_daemon().start()
        await hosts.wait_settled([alone])
        code, out, err = await run_cli_async("drain", "--control-socket", str(alone.control_socket))
        assert code == 1
        assert "no other daemon has these, they still run here: bot0" in err
        assert await hosts.running(alone) == {"bot0"}  # kept: nobody could take it
        code, out, err = await run_cli_async("undrain", "--control-socket", str(alone.control_socket))
        assert code == 0 and "undrained" in out
    finally:
        await hosts.stop_all()
