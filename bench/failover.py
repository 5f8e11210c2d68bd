"""Three daemons as three hosts on one database: how fast the others take over a lost one, whether a token
ever has two gateway sessions, and how many instances a join moves.

For each of --runs rounds (the victim rotates) and each fault: kill -9, a partition from PostgreSQL (a TCP
proxy in front of the victim's database connections is cut; Discord stays reachable) and a freeze (SIGSTOP):
the seconds until every bot of the victim has a new gateway session elsewhere; then the victim comes back
(restarted, healed, SIGCONT) and the bench counts the instances that moved to it. Then a drain of one daemon
with `!ping` every 100 ms to each of its bots: answered twice (must be 0), unanswered, longest downtime.
The emulator sees every identify, resume and close, so two sessions of one token for any time at all count.

    python bench/failover.py [--runs 10] [--instances 9]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path

from _harness import CORE_ONLY, Bot, DaemonProcess, database_url, drop_schemas, make_bots, raise_fd_limit

from supervisor.daemon.control import ControlUnavailable, request
from supervisor.emulator import Emulator


class CutProxy:
    """A loopback TCP proxy to Postgres that can be cut (every link aborted, new ones refused) and healed."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._links -= {writer, up_writer}


class Fleet:
    def __init__(self, emu: Emulator, root: Path, bots: list[Bot], fleet_schema: str, proxy: CutProxy):
        self.emu, self.root, self.bots, self.fleet_schema, self.proxy = emu, root, bots, fleet_schema, proxy
        self.daemons: list[DaemonProcess] = []

    def daemon(self, index: int) -> DaemonProcess:
        return DaemonProcess(self.root / f"host{index}" / "instances", self.root / f"host{index}",
                             api_base=self.emu.api_base, gateway_url=self.emu.gateway_url,
                             extra_args=("--fleet-schema", self.fleet_schema, "--log-level", "WARNING"))

    async def running(self, daemon: DaemonProcess) -> set[str]:
        try:
            async with asyncio.timeout(3):
                answer = await request(daemon.control_socket, {"command": "status"}, timeout=3)
        except (ControlUnavailable, TimeoutError, OSError):
            return set()
        return {item["name"] for item in answer.get("instances", []) if item["state"] == "running"}

    async def where(self) -> dict[str, list[int]]:
        where: dict[str, list[int]] = {bot.name: [] for bot in self.bots}
        for index, daemon in enumerate(self.daemons):
            for name in await self.running(daemon):
                where[name].append(index)
        return where

    async def settled(self, timeout: float = 60.0) -> dict[str, list[int]]:
        """Every bot once, evenly over the three daemons, one session per token."""
        deadline = time.monotonic() + timeout
        while True:
            where = await self.where()
            loads = [sum(on == [i] for on in where.values()) for i in range(len(self.daemons))]
            if all(len(on) == 1 for on in where.values()) and max(loads) - min(loads) <= 1 and all(
                    self.emu.session_count(bot.token) == 1 for bot in self.bots):
                return where
            if time.monotonic() > deadline:
                last = [d.logs[-3:] for d in self.daemons]
                raise TimeoutError(f"not settled: {where}; last log lines: {last}")
            await asyncio.sleep(0.2)

    async def once_elsewhere(self, victim: int, timeout: float = 60.0) -> dict[str, list[int]]:
        """Every bot running exactly once, none on the victim (whose status may not answer)."""
        deadline = time.monotonic() + timeout
        while True:
            where = await self.where()
            if all(len(on) == 1 and on != [victim] for on in where.values()):
                return where
            if time.monotonic() > deadline:
                raise TimeoutError(f"not elsewhere: {where}")
            await asyncio.sleep(0.1)

    async def taken_over(self, tokens: list[str], identifies: dict[str, int], timeout: float = 120.0) -> float:
        """Seconds until each token has a new, live session (IDENTIFY after the fault)."""
        started = time.monotonic()
        while not all(self.emu.identify_count(t) > identifies[t] and self.emu.session_count(t) >= 1 for t in tokens):
            if time.monotonic() - started > timeout:
                raise TimeoutError("not taken over")
            await asyncio.sleep(0.05)
        return time.monotonic() - started


async def one_fault(fleet: Fleet, kind: str, victim: int) -> tuple[float, int]:
    """(takeover seconds, instances moved back to the victim when it returns)."""
    where = await fleet.settled()
    daemon = fleet.daemons[victim]
    assert daemon.process is not None
    tokens = [bot.token for bot in fleet.bots if where[bot.name] == [victim]]
    before = {t: fleet.emu.identify_count(t) for t in tokens}
    if kind == "kill -9":
        daemon.process.kill()
        await daemon.process.wait()
    elif kind == "partition":
        await fleet.proxy.cut()
    else:
        daemon.process.send_signal(signal.SIGSTOP)
    try:
        takeover = await fleet.taken_over(tokens, before)
    finally:
        if kind == "freeze":
            daemon.process.send_signal(signal.SIGCONT)
    gone = await fleet.once_elsewhere(victim)
    if kind == "kill -9":
        fleet.daemons[victim] = await fleet.daemon(victim).start()
    elif kind == "partition":
        await fleet.proxy.start()
    after = await fleet.settled()
    moved = sum(gone[name] != after[name] for name in after)
    return takeover, moved


async def drain_once(fleet: Fleet, victim: int) -> tuple[int, int, int, float]:
    """(pings sent, answered twice, unanswered, longest downtime) for a drain of one daemon."""
    where = await fleet.settled()
    mine = [bot for bot in fleet.bots if where[bot.name] == [victim]]
    sent: list[int] = []
    down_since: dict[str, float] = {}
    longest = 0.0

    async def pinger() -> None:
        nonlocal longest
        while True:
            now = time.monotonic()
            for bot in mine:
                sent.append((await fleet.emu.send_message(bot.channel, bot.speaker, "!ping")).id)
                if fleet.emu.session_count(bot.token) == 0:
                    down_since.setdefault(bot.token, now)
                elif bot.token in down_since:
                    longest = max(longest, now - down_since.pop(bot.token))
            await asyncio.sleep(0.1)

    task = asyncio.create_task(pinger())
    socket = fleet.daemons[victim].control_socket
    try:
        while True:
            answer = await request(socket, {"command": "drain"})
            if not [n for n in answer["held"] if n not in answer["kept"]]:
                break
            await asyncio.sleep(0.5)
    finally:
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(1.0)  # the last answers
    replies: dict[int, int] = {}
    for message in fleet.emu.bot_messages:
        if message.reference_id is not None:
            replies[message.reference_id] = replies.get(message.reference_id, 0) + 1
    counts = [replies.get(message_id, 0) for message_id in sent]
    await request(socket, {"command": "undrain"})
    return len(sent), sum(c > 1 for c in counts), sum(c == 0 for c in counts), longest


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    return (f"median {statistics.median(values):.1f} s, max {max(values):.1f} s, min {min(values):.1f} s "
            f"(n={len(values)})")


async def main(runs: int, instances: int, url: str) -> None:
    run_id = secrets.token_hex(3)
    emu = Emulator()
    await emu.start()
    root = Path(tempfile.mkdtemp(prefix="ds-failover-"))
    proxy = CutProxy("127.0.0.1", 5432)
    await proxy.start()
    fleet_schema = f"bench_fleet_{run_id}"
    try:
        bots = make_bots(emu, root / "origin", instances, url, run_id, members=3,
                         config_extra='command_root = ""\n' + CORE_ONLY)
        fleet = Fleet(emu, root, bots, fleet_schema, proxy)
        proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        for index in range(3):
            tree = root / f"host{index}" / "instances"
            shutil.copytree(root / "origin", tree)
            if index == 0:  # host 0 reaches Postgres through the proxy: the one the partitions cut off
                for env in tree.glob("*/.env"):
                    env.write_text(env.read_text().replace(url, proxied))
        joins: list[int] = []
        for index in range(3):
            before = await fleet.where() if fleet.daemons else {bot.name: [] for bot in bots}
            fleet.daemons.append(await fleet.daemon(index).start())
            after = await fleet.settled()
            if index:
                joins.append(sum(before[n] != after[n] for n in after))
        results: dict[str, list[float]] = {"kill -9": [], "partition": [], "freeze": []}
        rejoins: list[int] = []
        overlaps = dict.fromkeys(results, 0.0)
        for run in range(runs):
            for kind in results:
                victim = 0 if kind == "partition" else run % 3
                overlap_before = sum(emu.session_overlap(bot.token) for bot in bots)
                takeover, moved = await one_fault(fleet, kind, victim)
                overlaps[kind] += sum(emu.session_overlap(bot.token) for bot in bots) - overlap_before
                results[kind].append(takeover)
                rejoins.append(moved)
                print(f"run {run + 1}: {kind}: taken over in {takeover:.1f} s; {moved} moved back", flush=True)
        drains = [await drain_once(fleet, run % 3) for run in range(runs)]
        overlap_drain = sum(emu.session_overlap(bot.token) for bot in bots) - sum(overlaps.values())
        print()
        print(f"{instances} instances, 3 daemons, {runs} run(s) per fault (machine shared with other work)")
        for kind, values in results.items():
            print(f"takeover after {kind:<9}: {summary(values)}")
        print(f"time with two live sessions per token: kill -9 {overlaps['kill -9']:.2f} s, partition "
              f"{overlaps['partition']:.2f} s, joins and drains {max(overlap_drain, 0.0):.2f} s; freeze "
              f"{overlaps['freeze']:.2f} s (the frozen process's socket stays open, silent, until it wakes)")
        print(f"instances moved per join (share {instances // 2}, then {instances // 3}): {joins}; "
              f"per rejoin after a fault: {rejoins}")
        for index, (sent, twice, unanswered, gap) in enumerate(drains):
            print(f"drain {index + 1}: {sent} pings, answered twice {twice}, unanswered {unanswered}, "
                  f"longest downtime {gap:.1f} s (no gateway RESUME handover)")
    finally:
        for daemon in fleet.daemons if "fleet" in locals() else []:
            with contextlib.suppress(Exception):
                if daemon.process is not None:
                    daemon.process.send_signal(signal.SIGCONT)
                await daemon.stop()
        await proxy.cut()
        await emu.stop()
        await drop_schemas(url, f"bench_b{run_id}")
        await drop_schemas(url, fleet_schema)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds per fault (default 10)")
    parser.add_argument("--instances", type=int, default=9, help="instances over the three daemons (default 9)")
    arguments = parser.parse_args()
    raise_fd_limit()
    url, _server = database_url()
    asyncio.run(main(arguments.runs, arguments.instances, url))
