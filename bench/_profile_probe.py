"""Run the daemon (`python bench/_profile_probe.py run ...`) with cProfile switched by signals: SIGUSR1 starts
profiling, SIGUSR2 stops it and writes the stats to $PROFILE_PROBE_OUT. Used by bench/start_profile.py --burst to
profile a burst alone; never by the daemon itself. With $TRACEMALLOC_OUT set, tracemalloc traces every allocation
from the start and SIGUSR2 also writes where the live bytes were allocated (by line and by file) to that path."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import tracemalloc
from pathlib import Path

_profile = cProfile.Profile()


def _start(_signum: int, _frame: object) -> None:
    _profile.enable()


def _stop(_signum: int, _frame: object) -> None:
    _profile.disable()
    if os.environ.get("PROFILE_PROBE_OUT"):
        _profile.dump_stats(os.environ["PROFILE_PROBE_OUT"])
    if os.environ.get("TRACEMALLOC_OUT"):
        snapshot = tracemalloc.take_snapshot()
        lines = [f"traced {tracemalloc.get_traced_memory()[0] / 1e6:.1f} MB"]
        for key in ("filename", "lineno", "traceback"):
            lines.append(f"== by {key}")
            for stat in snapshot.statistics(key)[:60 if key != "traceback" else 25]:
                lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9d} objects  {stat.traceback}")
                if key == "traceback":
                    lines.extend(f"      {frame}" for frame in stat.traceback.format()[-12:])
        Path(os.environ["TRACEMALLOC_OUT"]).write_text("\n".join(lines))


def main() -> int:
    if os.environ.get("TRACEMALLOC_OUT"):
        tracemalloc.start(12)
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    from supervisor.cli import main as cli_main

    sys.argv = ["discord-supervisor", *sys.argv[1:]]
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
