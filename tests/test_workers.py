"""`run --workers 2`: one parent, two worker daemons sharing the instances by the many-hosts placement; the real
daemon, the emulator and a real Postgres. Every bot runs once, `status` through the parent lists them all, a
kill -9 of one worker moves nothing of the other's, and SIGTERM stops everything with exit code 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

import pytest

from supervisor.daemon.control import ControlUnavailable, request
from supervisor.emulator import Emulator
from supervisor.hosts.placement import score
from tests.support import eventually, run_cli_async
from tests.support.daemon import DaemonProcess
from tests.support.hosts import Hosts, Pinger, SessionSampler, make_hosts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTANCES = 6
NOTABLE = ("lease_fenced", "instance_handed_off", "worker_exited", "worker_started", "instance_stopped",
           "event_loop_stalled", "fleet_tables_unavailable", "instance_running", "instance_running_elsewhere")
BACK_SECONDS = 15.0  # a killed worker's bots answer again within this, measured from the kill


def notable(parent: DaemonProcess) -> str:
    """The log events that explain a failure, one per line."""
    return "\n".join(" ".join(f"{key}={value}" for key, value in entry.items() if key not in ("logger", "level"))
                     for entry in parent.logs if entry.get("event") in NOTABLE)


def start_parent(hosts: Hosts, work: Path) -> DaemonProcess:
    work.mkdir()
    return DaemonProcess(hosts.root / "origin", work, api_base=hosts.emu.api_base, gateway_url=hosts.emu.gateway_url,
                         extra_args=("--fleet-schema", hosts.fleet_schema, "--backoff-first", "0.5",
                                     "--workers", "2"))


async def placement(hosts: Hosts, parent: DaemonProcess) -> dict[str, int] | None:
    """Instance -> the worker running it, once every bot runs with exactly one gateway session; else None."""
    try:
        answer = await request(parent.control_socket, {"command": "status"}, timeout=10)
    except ControlUnavailable:
        return None
    items = answer["instances"]
    if len(items) != INSTANCES or any(item["state"] != "running" or not item["worker"] for item in items):
        return None
    if any(hosts.emu.session_count(bot.token) != 1 for bot in hosts.bots):
        return None
    return {item["name"]: item["worker"] for item in items}


async def wait_placed(hosts: Hosts, parent: DaemonProcess, timeout: float = 90.0) -> dict[str, int]:
    """Until every bot runs once and each worker runs half of them (the placement hands over one at a time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        where = await placement(hosts, parent)
        if where is not None and sorted(list(where.values()).count(i) for i in (1, 2)) == [3, 3]:
            return where
        assert loop.time() < deadline, f"not placed: {where}"
        await asyncio.sleep(0.2)


async def status_of(parent: DaemonProcess) -> dict[str, dict[str, Any]]:
    answer = await request(parent.control_socket, {"command": "status"}, timeout=10)
    return {item["name"]: item for item in answer["instances"]}


async def worker_pids(parent: DaemonProcess) -> dict[int, int]:
    answer = await request(parent.control_socket, {"command": "workers"})
    return {row["worker"]: row["pid"] for row in answer["workers"]}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def answered(emu: Emulator, pinger: Pinger) -> bool:
    return all(count >= 1 for count in pinger.replies())


async def test_two_workers_share_the_instances_and_the_parent_answers_for_both(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique: Any) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    parent = start_parent(hosts, tmp_path / "parent")
    await parent.start()
    try:
        async with SessionSampler(emu, [bot.token for bot in hosts.bots]) as sampler:
            where = await wait_placed(hosts, parent)
        assert sampler.most == 1 and sampler.overlap_seconds() == 0.0
        assert all(emu.most_sessions(bot.token) == 1 for bot in hosts.bots)
        # Each worker started only the instances the rendezvous hash gives it; then the cap moved the excess.
        nodes = [f"{socket.gethostname()}:{parent.control_socket.with_name(f'control.worker{i}.sock')}"
                 for i in (1, 2)]
        hashed = [max(nodes, key=lambda node, s=bot.schema: (score(s, node, 1.0), node)) for bot in hosts.bots]
        excess = abs(hashed.count(nodes[0]) - INSTANCES // 2)
        assert parent.count(lambda e: e.get("event") == "instance_handed_off") <= excess, notable(parent)

        code, out, err = await run_cli_async("status", "--control-socket", str(parent.control_socket))
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["INSTANCE", "STATE", "WORKER"]
        shown = {line.split()[0]: line.split()[2] for line in lines[1:]}
        assert shown == {name: str(worker) for name, worker in where.items()}
        code, out, err = await run_cli_async("status", "--json", "--control-socket", str(parent.control_socket))
        assert code == 0, err
        assert sorted(item["name"] for item in json.loads(out)) == sorted(where)

        # `discord-supervisor mcp` (the stdio bridge asks the parent's socket) reaches every worker's instances.
        async def mcp(tool: str, **arguments: Any) -> dict[str, Any]:
            return await request(parent.control_socket, {"command": "mcp_call", "tool": tool, "arguments": arguments})

        listed = (await mcp("list_instances"))["text"].splitlines()
        assert [line.split(" | ")[:2] for line in listed] == [[name, "running"] for name in sorted(where)]
        for bot in hosts.bots:  # each answered by the worker that runs it (MCP is off in these instances)
            answer = await mcp("list_channels", instance=bot.name)
            assert answer["is_error"] and answer["text"].startswith(f"MCP is off for instance {bot.name}"), answer
        unknown = await mcp("list_channels", instance="nobody")
        assert unknown["is_error"]
        assert unknown["text"] == f"Instance not found: nobody. Available instances: {', '.join(sorted(where))}"

        # Commands reach the worker concerned: a restart of one bot, a pause and resume of another.
        name = hosts.bots[0].name
        since = (await status_of(parent))[name]["since"]
        code, out, err = await run_cli_async("restart", name, "--control-socket", str(parent.control_socket))
        assert code == 0, err + out

        async def restarted() -> bool:
            item = (await status_of(parent))[name]
            return item["since"] > since and item["state"] == "running" and item["worker"] == where[name]

        await eventually(restarted, timeout=60)
        assert (await request(parent.control_socket, {"command": "pause", "name": name}))["ok"]

        async def paused() -> bool:  # on both workers: the other does not take it over
            item = (await status_of(parent))[name]
            return item["state"] == "stopped" and emu.session_count(hosts.bots[0].token) == 0

        await eventually(paused, timeout=60)

        # The pause outlives the worker that ran the instance: killed, it comes back with the instance paused; and
        # a pause sent while it restarts reaches it once it is ready (it may have started that bot meanwhile).
        second = next(bot for bot in hosts.bots[1:] if where[bot.name] == where[name])
        token = hosts.bots[0].token
        identifies = emu.identify_count(token)
        victim_pid = (await worker_pids(parent))[where[name]]
        os.kill(victim_pid, signal.SIGKILL)

        async def respawned() -> bool:  # its successor runs but is not ready yet (importing, connecting)
            rows = (await request(parent.control_socket, {"command": "workers"}))["workers"]
            return any(row["worker"] == where[name] and row["pid"] not in (None, victim_pid) for row in rows)

        await eventually(respawned, timeout=30)
        assert (await request(parent.control_socket, {"command": "pause", "name": second.name}))["ok"]

        async def restarted_and_settled() -> bool:
            rows = (await request(parent.control_socket, {"command": "workers"}))["workers"]
            items = await status_of(parent)
            return (all(row["ready"] and row["pid"] not in (None, victim_pid) for row in rows)
                    and all(items[bot.name]["state"] == "running" for bot in hosts.bots[1:] if bot is not second))

        await eventually(restarted_and_settled, timeout=90)
        assert (await status_of(parent))[name]["state"] == "stopped", notable(parent)
        assert emu.session_count(token) == 0 and emu.identify_count(token) == identifies

        async def second_paused() -> bool:
            return ((await status_of(parent))[second.name]["state"] == "stopped"
                    and emu.session_count(second.token) == 0)

        await eventually(second_paused, timeout=30)

        for paused_name in (name, second.name):
            assert (await request(parent.control_socket, {"command": "resume", "name": paused_name}))["ok"]
        assert await wait_placed(hosts, parent)

        pids = await worker_pids(parent)
        code = await parent.stop(signal.SIGTERM, timeout=60)
        assert code == 0, parent.stderr_text[-3000:]
        assert not any(alive(pid) for pid in pids.values())
        assert parent.find(lambda e: e.get("event") == "workers_stopped" and e.get("code") == 0)
    finally:
        await hosts.stop_all()
        if parent.process is not None and parent.process.returncode is None:
            await parent.stop()


async def test_kill_9_of_one_worker_brings_its_bots_back_and_leaves_the_other_alone(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique: Any) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, INSTANCES)
    parent = start_parent(hosts, tmp_path / "parent")
    await parent.start()
    try:
        where = await wait_placed(hosts, parent)
        pids = await worker_pids(parent)
        victim = 1
        survivors = [bot for bot in hosts.bots if where[bot.name] != victim]
        victims = [bot for bot in hosts.bots if where[bot.name] == victim]
        identifies = {bot.token: emu.identify_count(bot.token) for bot in survivors}
        loop = asyncio.get_running_loop()
        async with SessionSampler(emu, [bot.token for bot in hosts.bots]) as sampler, \
                Pinger(emu, survivors, interval=0.5) as pinger:
            os.kill(pids[victim], signal.SIGKILL)
            killed_at = loop.time()
            # Back: every one of its bots has a gateway session again (identified, so it receives messages) ...
            await eventually(lambda: all(emu.session_count(bot.token) == 0 for bot in victims), timeout=10)
            while not all(emu.session_count(bot.token) == 1 for bot in victims):
                assert loop.time() - killed_at < BACK_SECONDS + 60, "the killed worker's bots never came back"
                await asyncio.sleep(0.05)
            back = loop.time() - killed_at
            # ... and answers a !ping (generous: the bound above is on the takeover, not on this loaded machine)
            probe = Pinger(emu, victims)
            for _ in range(6):  # one sent while a bot was between IDENTIFY and READY is not seen: send another
                await probe.ping_once()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(10):
                        while not all(any(count for (b, _), count in zip(probe.sent, probe.replies(), strict=True)
                                          if b is bot) for bot in victims):
                            await asyncio.sleep(0.1)
                        break
            else:
                raise AssertionError(f"the killed worker's bots have sessions but do not answer\n{notable(parent)}")
            assert back < BACK_SECONDS, f"{back}\n{notable(parent)}"
        assert sampler.most == 1 and sampler.overlap_seconds() == 0.0
        await parent.wait_log(lambda e: e.get("event") == "worker_exited" and e.get("worker") == victim
                              and e.get("signal") == "SIGKILL")
        await parent.wait_log(lambda e: e.get("event") == "worker_started" and e.get("worker") == victim
                              and e.get("restarts") == 1)
        # The other worker's bots answered every ping sent meanwhile, exactly once.
        loop_deadline = loop.time() + 20
        while not await answered(emu, pinger) and loop.time() < loop_deadline:
            await asyncio.sleep(0.1)
        assert pinger.sent and pinger.replies() == [1] * len(pinger.sent), f"{pinger.replies()} {notable(parent)}"
        assert (await worker_pids(parent))[victim] not in (None, pids[victim])
        await wait_placed(hosts, parent)  # the restarted worker takes its share back
        # ... and the other worker's own bots never reconnected: not at the kill, not when the shares evened out.
        assert {bot.token: emu.identify_count(bot.token) for bot in survivors} == identifies, notable(parent)
        assert await parent.stop(signal.SIGTERM, timeout=60) == 0
    finally:
        if parent.process is not None and parent.process.returncode is None:
            await parent.stop()
