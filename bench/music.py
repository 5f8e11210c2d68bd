"""What N playing bots cost, for the two decoding designs: PyAV in-process vs one bundled ffmpeg per player.

Each design runs in its own worker process (the daemon's stand-in). The worker starts N players on one
generated track (a chord, 48 kHz stereo WAV), each paced by its own thread every 20 ms exactly as discord.py's
AudioPlayer paces a VoiceClient, and sends each Opus packet over loopback UDP to a receiver in the same process
that records arrival times. Voice encryption and the gateway are left out: they cost the same in both designs.

With --daemon, the real thing instead: the daemon as a process with N music bots against the emulator (voice over
wss and UDP, decrypted by the emulator), each asked `!play` by a member in its voice channel for a track served
by a local HTTP server; figures come from the emulator's arrival times and the daemon's /proc.

Printed per run: packets/s per bot, inter-packet gap p50/p99 (ms), the worker's CPU % of one core (children
included), RSS of the worker plus its children beyond the idle worker (MB, total and per bot), threads, child
processes. Usage:

    python bench/music.py [--bots 1,10,50] [--seconds 10] [--designs pyav-ahead,pyav,ffmpeg] [--inputs wav,opus]
    python bench/music.py --daemon [--bots 1,10,50] [--seconds 10] [--inputs wav,opus]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

FRAME = 0.020


def make_track(path: Path, seconds: float) -> None:
    """A C major chord with a slow tremolo: more like music to an encoder than a pure tone."""
    rate = 48000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        step = 2 * math.pi / rate
        for start in range(0, int(seconds * rate), rate):
            frames = bytearray()
            for i in range(start, min(start + rate, int(seconds * rate))):
                level = 0.6 + 0.4 * math.sin(i * step * 0.5)
                left = sum(math.sin(i * step * f) for f in (261.63, 329.63, 392.0)) * 2500 * level
                right = sum(math.sin(i * step * f) for f in (130.81, 329.63, 523.25)) * 2500 * level
                frames += struct.pack("<hh", int(left), int(right))
            out.writeframes(bytes(frames))


def make_opus(wav: Path, path: Path) -> None:
    """The same track as Ogg Opus (what YouTube's bestaudio mostly is): both designs then copy it as it is."""
    import av
    with av.open(str(wav)) as source, av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.bit_rate = 128_000
        for frame in source.decode(audio=0):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


_ENCODER: list = []  # the worker process's one Encoder (pyav-ahead)


def open_source(design: str, path: str):  # type: ignore[no-untyped-def]
    copy = path.endswith(".opus")
    if design.startswith("pyav"):
        from features.music.encoder import Encoder
        from features.music.source import OpusSource
        source = OpusSource.open(path, bitrate=128_000, complexity=5)
        if design == "pyav-ahead":  # what the music feature does: the process's encoder threads work ahead
            if not _ENCODER:
                _ENCODER.append(Encoder())
            source.encode_ahead(_ENCODER[0])
        return source
    import discord
    import imageio_ffmpeg
    # discord.py's own subprocess source: ffmpeg transcodes to Ogg Opus on a pipe (or copies Opus), discord.py
    # reads its pages.
    return discord.FFmpegOpusAudio(path, executable=imageio_ffmpeg.get_ffmpeg_exe(), bitrate=128,
                                   codec="copy" if copy else None)


def pace(source, sock: socket.socket, address: tuple[str, int], player: int, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """discord.py's AudioPlayer loop: one read per 20 ms, the schedule corrected for drift."""
    start = time.perf_counter()
    loops = 0
    while not stop.is_set():
        loops += 1
        data = source.read()
        if not data:
            break
        if data[:8] in (b"OpusHead", b"OpusTags"):
            continue  # FFmpegOpusAudio hands over the Ogg header pages first: not audio
        sock.sendto(struct.pack("<I", player) + data[:1000], address)
        time.sleep(max(0.0, FRAME + (start + FRAME * loops - time.perf_counter())))  # discord.py's arithmetic
    source.cleanup()


def children() -> list[int]:
    try:
        with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def threads() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def worker(design: str, bots: int, seconds: float, track: str) -> dict[str, float]:
    import discord  # noqa: F401  (the daemon has it loaded: count it in the idle baseline)
    if design.startswith("pyav"):
        import av  # noqa: F401
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.5)
    address = receiver.getsockname()
    arrivals: list[list[float]] = [[] for _ in range(bots)]
    done = threading.Event()

    def receive() -> None:
        while not done.is_set():
            try:
                packet = receiver.recv(2048)
            except TimeoutError:
                continue
            arrivals[struct.unpack("<I", packet[:4])[0]].append(time.perf_counter())

    threading.Thread(target=receive, daemon=True).start()
    idle_rss = rss_mb(os.getpid())
    idle_threads = threads()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stop = threading.Event()
    players = []
    for n in range(bots):
        source = open_source(design, track)
        players.append(threading.Thread(target=pace, args=(source, sock, address, n, stop), daemon=True))
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    kids_cpu0 = child_cpu(children())
    for thread in players:
        thread.start()
    time.sleep(seconds / 2)
    kids = children()
    rss = rss_mb(os.getpid()) + sum(rss_mb(pid) for pid in kids)
    peak_threads = threads()
    time.sleep(seconds / 2)
    kids_cpu = child_cpu(children()) - kids_cpu0
    cpu, wall = cpu_seconds() - cpu0 + kids_cpu, time.perf_counter() - wall0
    stop.set()
    for thread in players:
        thread.join(10)
    done.set()
    gaps = sorted((b - a) * 1000 for times in arrivals for a, b in itertools.pairwise(times))
    rates = [len(times) / wall for times in arrivals]
    return {
        "packets_per_s": statistics.mean(rates), "gap_p50_ms": gaps[len(gaps) // 2] if gaps else float("nan"),
        "gap_p99_ms": gaps[int(len(gaps) * 0.99)] if gaps else float("nan"), "cpu_pct": 100 * cpu / wall,
        "rss_mb": rss - idle_rss, "rss_per_bot_mb": (rss - idle_rss) / bots, "threads": peak_threads - idle_threads,
        "children": len(kids),
    }


async def daemon_run(bots: int, seconds: float, track: Path, db: str) -> dict[str, float]:
    """N music bots in the daemon, each playing `track` to a member in voice; measured from the emulator."""
    from _harness import cpu_seconds, drop_schemas, make_bots, rss_mb, start_daemon
    from aiohttp import web

    from supervisor.emulator import GUILD_VOICE, Emulator

    run_id = os.urandom(2).hex()
    emu = Emulator()
    await emu.start()
    app = web.Application()
    app.router.add_get("/" + track.name, lambda _request: web.FileResponse(track))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/{track.name}"  # type: ignore[union-attr]
    work = Path(tempfile.mkdtemp(prefix="bench-music-"))
    config = 'command_root = ""\n[features]\nmoderation = false\nstocks = false\nai_chat = false\n'
    daemon = None
    try:
        fleet = make_bots(emu, work / "instances", bots, db, run_id, members=3, config_extra=config)
        for bot in fleet:
            emu.voice.join(bot.guild, bot.speaker, emu.create_channel(bot.guild, "Lounge", GUILD_VOICE))
        daemon, _ready = await start_daemon(emu, work / "instances", work, "--ca-file", str(emu.voice.ca_file))
        pid = daemon.pid
        idle_rss, idle_threads = rss_mb(pid), _threads_of(pid)
        for bot in fleet:
            await emu.send_message(bot.channel, bot.speaker, f"!play {url}")
        recordings = [emu.voice.recording(bot.guild, bot.user) for bot in fleet]
        for recording in recordings:
            await recording.wait_for(lambda r: r.audio_count >= 25, timeout=120)
        marks = [len(r.packets) for r in recordings]
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(seconds / 2)
        rss, threads_now, kids = rss_mb(pid), _threads_of(pid), len(_children_of(pid))
        await asyncio.sleep(seconds / 2)
        cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - wall0
        windows = [[p for p in r.packets[m:] if p.audio] for r, m in zip(recordings, marks, strict=True)]
    finally:
        if daemon is not None:
            await daemon.stop()
        await runner.cleanup()
        await emu.stop()
        await drop_schemas(db, f"bench_b{run_id}")
    gaps = sorted((b.arrived - a.arrived) * 1000 for w in windows for a, b in itertools.pairwise(w))
    return {
        "packets_per_s": statistics.mean(len(w) / wall for w in windows),
        "gap_p50_ms": gaps[len(gaps) // 2] if gaps else float("nan"),
        "gap_p99_ms": gaps[int(len(gaps) * 0.99)] if gaps else float("nan"), "cpu_pct": 100 * cpu / wall,
        "rss_mb": rss - idle_rss, "rss_per_bot_mb": (rss - idle_rss) / bots, "threads": threads_now - idle_threads,
        "children": kids,
    }


def _threads_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def _children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", default="1,10,50")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--designs", default="pyav-ahead,pyav,ffmpeg",
                        help="pyav-ahead: PyAV + the shared encoder threads (the feature); pyav: each player's "
                             "thread encodes on its own; ffmpeg: a bundled ffmpeg process per player")
    parser.add_argument("--inputs", default="wav,opus", help="wav: decode and encode; opus: Ogg Opus, copied")
    parser.add_argument("--daemon", action="store_true", help="the daemon with N music bots against the emulator")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        design, bots, track = args.worker
        print(json.dumps(worker(design, int(bots), args.seconds, track)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "chord.wav"
        make_track(wav, args.seconds + 5)
        make_opus(wav, Path(scratch) / "chord.opus")
        print("| design | input | bots | packets/s per bot | gap p50 ms | gap p99 ms | CPU % of a core | "
              "RSS MB beyond idle | MB per bot | threads | child processes |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        designs = ["daemon"] if args.daemon else args.designs.split(",")
        runs = [(b, i, d) for b in args.bots.split(",") for i in args.inputs.split(",") for d in designs]
        if args.daemon:
            from _harness import raise_fd_limit
            raise_fd_limit()
            # A private PostgreSQL: N instances' pools must not eat the shared server's connections.
            import pgserver
            server = pgserver.get_server(Path(scratch) / "pg", cleanup_mode="stop")
            db = server.get_uri()
        for bots_text, kind, design in runs:
            bots, track = int(bots_text), Path(scratch) / f"chord.{kind}"
            if design == "daemon":
                r = asyncio.run(daemon_run(bots, args.seconds, track, db))
                _row(design, kind, bots, r)
                continue
            run = subprocess.run([sys.executable, __file__, "--seconds", str(args.seconds), "--worker", design,
                                  str(bots), str(track)], capture_output=True, text=True,
                                 timeout=args.seconds * 4 + 120, check=False)
            if run.returncode != 0:
                print(f"| {design} | {kind} | {bots} | failed: {run.stderr.strip().splitlines()[-1:]} |")
                continue
            _row(design, kind, bots, json.loads(run.stdout.strip().splitlines()[-1]))


def _row(design: str, kind: str, bots: int, r: dict[str, float]) -> None:
    print(f"| {design} | {kind} | {bots} | {r['packets_per_s']:.1f} | {r['gap_p50_ms']:.1f} | "
          f"{r['gap_p99_ms']:.1f} | {r['cpu_pct']:.0f} | {r['rss_mb']:.0f} | {r['rss_per_bot_mb']:.1f} | "
          f"{r['threads']:.0f} | {r['children']:.0f} |", flush=True)

if __name__ == "__main__":
    main()
