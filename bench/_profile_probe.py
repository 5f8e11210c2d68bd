"""Run the daemon (`python bench/_profile_probe.py run ...`) with cProfile switched by signals: SIGUSR1 starts
profiling, SIGUSR2 stops it and writes the stats to $PROFILE_PROBE_OUT. Used by bench/start_profile.py --burst to
profile a burst alone; never by the daemon itself."""

from __future__ import annotations

import cProfile
import os
import signal
import sys

_profile = cProfile.Profile()


def _start(_signum: int, _frame: object) -> None:
    _profile.enable()


def _stop(_signum: int, _frame: object) -> None:
    _profile.disable()
    _profile.dump_stats(os.environ["PROFILE_PROBE_OUT"])


def main() -> int:
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    from supervisor.cli import main as cli_main

    sys.argv = ["discord-supervisor", *sys.argv[1:]]
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
