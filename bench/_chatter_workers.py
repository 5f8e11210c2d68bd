"""`bench/chatter.py --workers 1,2`: messages handled per second with N worker processes, and a kill -9 of one.

Throughput: every bot receives `--messages` chat messages as fast as the emulator (in this process) sends them;
the clock stops when every bot has answered a `!ping` sent after its last message, so each daemon has read and
handled everything before it. CPU seconds of the daemon processes and of this process (the emulator and the load
generator) during that window say who was the bottleneck.

Kill -9 (with 2 or more workers): chatter at a modest rate to every bot and a `!ping` to each of the other
workers' bots every second; SIGKILL to worker 1; then a `!ping` to each of its bots until every one answers. The
pings to the other workers' bots go on until the restarted worker has taken its share back (the handoffs that
even the shares out) and 3 s more. It prints the time from the kill until the killed worker's bots all answered,
the pings to the other workers' bots that went unanswered, how many of those bots were handed off meanwhile
(each a reconnect; the workers hand back first what they took over from the killed one), and `lease_fenced`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import signal
import tempfile
import time
from pathlib import Path

from _harness import Bot, DaemonProcess, cpu_seconds, drop_schemas, make_bots, ping_ms, start_daemon
from chatter import chatter_message, chatter_payloads

from supervisor.daemon.control import ControlUnavailable, request
from supervisor.emulator import Emulator

BURST = 50  # chat messages per bot before every bot is pinged and its answer awaited
WATCHED = ("lease_fenced", "event_loop_stalled", "instance_handed_off", "worker_exited")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def placement(daemon: DaemonProcess, count: int, workers: int) -> dict[str, int]:
    """Instance -> worker (0 for a single daemon), once every instance runs and the workers hold even shares."""
    while True:
        with contextlib.suppress(ControlUnavailable):
            answer = await request(daemon.control_socket, {"command": "status"})
            items = answer["instances"]
            where = {item["name"]: item.get("worker") or 0 for item in items if item["state"] == "running"}
            loads = [list(where.values()).count(i) for i in range(1, workers + 1)] if workers > 1 else [len(where)]
            if len(where) == count and max(loads) - min(loads) <= 1:
                return where
        await asyncio.sleep(0.5)


async def daemon_pids(daemon: DaemonProcess, workers: int) -> dict[int, int]:
    if workers == 1:
        return {0: daemon.pid}
    answer = await request(daemon.control_socket, {"command": "workers"})
    return {0: daemon.pid, **{row["worker"]: row["pid"] for row in answer["workers"]}}


async def flood(emu: Emulator, bots: list[Bot], templates: list, messages: int, burst: int) -> float:
    """Every bot gets `messages` chat messages in bursts of `burst`, each burst followed by a `!ping` to every bot
    and the wait for its answers (so no daemon falls minutes behind); the seconds it all took."""
    started = time.monotonic()
    for first in range(0, messages, burst):
        for bot, (template, members) in zip(bots, templates, strict=True):
            for index in range(first, min(messages, first + burst)):
                chatter_message(emu, bot, template, members, index)
            await asyncio.sleep(0)
        await asyncio.gather(*(answered_ping(emu, bot) for bot in bots))
    return time.monotonic() - started


async def answered_ping(emu: Emulator, bot: Bot, tries: int = 5) -> None:
    """A `!ping` until answered: one sent while a fenced worker's bot reconnects is never seen (the log says)."""
    for _ in range(tries - 1):
        with contextlib.suppress(TimeoutError):
            await ping_ms(emu, bot, timeout=30)
            return
    await ping_ms(emu, bot, timeout=60)


async def kill_one(emu: Emulator, daemon: DaemonProcess, bots: list[Bot], templates: list,
                   pids: dict[int, int]) -> tuple[float, int, int, int]:
    """SIGKILL worker 1 under chatter: (seconds until its bots answered, pings to the others, unanswered, the
    others' bots handed off meanwhile)."""
    where = await placement(daemon, len(bots), 2)  # now: a fence or handoff during the flood may have moved some
    victims = [bot for bot in bots if where[bot.name] == 1]
    others = [bot for bot in bots if where[bot.name] != 1]
    sent: list[int] = []
    stop = asyncio.Event()

    async def background() -> None:
        index = 10**6
        while not stop.is_set():
            for bot, (template, members) in zip(bots, templates, strict=True):
                chatter_message(emu, bot, template, members, index)
            index += 1
            for bot in others:
                sent.append((await emu.send_message(bot.channel, bot.speaker, f"{bot.prefix}ping")).id)
            await asyncio.sleep(1.0)

    task = asyncio.create_task(background())
    await asyncio.sleep(3.0)
    seen = len(daemon.logs)
    os.kill(pids[1], signal.SIGKILL)
    killed = time.monotonic()
    pending = list(victims)
    while pending:
        results = await asyncio.gather(*(ping_ms(emu, bot, timeout=2.0) for bot in pending), return_exceptions=True)
        pending = [bot for bot, result in zip(pending, results, strict=True) if isinstance(result, BaseException)]
        if time.monotonic() - killed > 120:
            raise RuntimeError(f"{len(pending)} bots of the killed worker never came back")
    back = time.monotonic() - killed
    await placement(daemon, len(bots), 2)  # the restarted worker has its share back: the handoffs are over
    await asyncio.sleep(3.0)
    stop.set()
    await task
    await asyncio.sleep(5.0)  # the last pings' answers
    answered = {m.reference_id for m in emu.bot_messages if m.reference_id is not None}
    names = {bot.name for bot in others}
    moved = {e.get("instance") for e in daemon.logs[seen:]
             if e.get("event") == "instance_handed_off" and e.get("instance") in names}
    return back, len(sent), sum(1 for message_id in sent if message_id not in answered), len(moved)


async def one_count(args: argparse.Namespace, db: str, run_id: str, workers: int, kill: bool) -> dict[str, float]:
    emu = Emulator()
    await emu.start()
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    try:
        bots = make_bots(emu, work / "instances", args.bots, db, run_id, config_extra="")
        daemon, _ = await start_daemon(emu, work / "instances", work, "--workers", str(workers),
                                       "--fleet-schema", f"bench_b{run_id}_fleet")
        figures: dict[str, float] = {}
        try:
            await placement(daemon, len(bots), workers)
            for bot in bots:  # a first message per bot: the template for the stream
                await ping_ms(emu, bot, timeout=60)
            templates = [chatter_payloads(emu, bot) for bot in bots]
            pids = await daemon_pids(daemon, workers)
            cpu_before = {n: cpu_seconds(pid) for n, pid in pids.items()}
            mine_before = own_cpu()
            seconds = await flood(emu, bots, templates, args.messages, args.burst)
            total = len(bots) * args.messages
            daemon_cpu = sum(cpu_seconds(pid) - cpu_before[n] for n, pid in pids.items())
            figures = {"rate": total / seconds, "seconds": seconds, "daemon_cpu": daemon_cpu / seconds,
                       "bench_cpu": (own_cpu() - mine_before) / seconds, "daemon_ms": daemon_cpu * 1000 / total,
                       "load": os.getloadavg()[0]}
            print(f"  {workers} worker(s): {total} messages in {seconds:.1f} s (load average {figures['load']:.1f})",
                  flush=True)
            if workers > 1 and kill:
                fenced = daemon.count(lambda e: e.get("event") == "lease_fenced")
                back, sent, missed, moved = await kill_one(emu, daemon, bots, templates, pids)
                figures |= {"back": back, "pings": sent, "missed": missed, "moved": moved,
                            "fenced_in_kill": daemon.count(lambda e: e.get("event") == "lease_fenced") - fenced}
        finally:
            await daemon.stop()
            log = Path(tempfile.gettempdir()) / f"bench-workers-{run_id}.log"
            daemon.save_log(log)
            seen = {event: daemon.count(lambda e, name=event: e.get("event") == name) for event in WATCHED}
            figures["fenced"] = seen["lease_fenced"]
            print(f"  log: {log}; " + ", ".join(f"{event} {n}" for event, n in seen.items()), flush=True)
        return figures
    finally:
        await emu.stop()


async def workers_main(args: argparse.Namespace, db: str, counts: list[int]) -> None:
    """Each count `--rounds` times, alternating (a shared machine's load drifts); the best round of each counts."""
    run_id = secrets.token_hex(2)
    results: dict[int, list[dict[str, float]]] = {count: [] for count in counts}
    try:
        for round_ in range(args.rounds):
            for count in counts:
                print(f"--workers {count}, round {round_ + 1}: {args.bots} bots x {args.messages} messages",
                      flush=True)
                results[count].append(await one_count(args, db, f"{run_id}r{round_}w{count}", count,
                                                      kill=round_ == args.rounds - 1))
    finally:
        await drop_schemas(db, f"bench_b{run_id}")
    best = {count: max(runs, key=lambda fig: fig["rate"]) for count, runs in results.items()}
    base = best[counts[0]]["rate"]
    print(f"\nmessages handled per second, {args.bots} bots x {args.messages} chat messages each, best of "
          f"{args.rounds} ({os.cpu_count()} cores):")
    print(f"{'workers':>8} {'msgs/s':>9} {'ratio':>6} {'all rounds':>22} {'daemons CPU':>12} {'bench CPU':>10} "
          f"{'daemon ms/msg':>14}")
    for count, fig in best.items():
        rounds = ", ".join(f"{run['rate']:.0f}" for run in results[count])
        print(f"{count:>8} {fig['rate']:>9.0f} {fig['rate'] / base:>5.2f}x {rounds:>22} {fig['daemon_cpu']:>11.2f}c "
              f"{fig['bench_cpu']:>9.2f}c {fig['daemon_ms']:>14.3f}")
    for count, runs in results.items():
        for fig in runs:
            if "back" in fig:
                print(f"kill -9 of worker 1 of {count}: its bots answered again after {fig['back']:.1f} s; the "
                      f"other workers' bots missed {fig['missed']:.0f} of {fig['pings']:.0f} pings, "
                      f"{fig['moved']:.0f} of them handed off; lease_fenced {fig['fenced_in_kill']:.0f} "
                      "during the kill phase")
    fences = ", ".join(f"{count} worker(s): {[int(run['fenced']) for run in runs]}" for count, runs in results.items())
    print(f"lease_fenced per run: {fences}")
