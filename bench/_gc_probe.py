"""Run the daemon (`python bench/_gc_probe.py run ...`) with the garbage collector watched.

Every collection's generation, duration and count of unreachable objects is recorded. With $GC_PROBE_SAVEALL set,
unreachable objects are kept in gc.garbage (gc.DEBUG_SAVEALL) instead of freed, so the probe can say which types
make the cyclic garbage. SIGUSR1 writes what was recorded since the last SIGUSR1 to
$GC_PROBE_OUT (JSON) and starts over; SIGUSR2 thaws the heap, collects it in full and writes which garbage the
freezes had kept. Used by bench/gc_trace.py; never by the daemon itself.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

collections: list[dict[str, Any]] = []
_started = 0.0


def _on_gc(phase: str, info: dict[str, int]) -> None:
    global _started
    if phase == "start":
        _started = time.perf_counter()
    else:  # never gc.get_freeze_count() here: it walks every frozen object (tens of ms at 1,000 bots)
        collections.append({"gen": info["generation"], "ms": (time.perf_counter() - _started) * 1000,
                            "collected": info["collected"], "at": time.monotonic()})


def _owner(obj: object) -> str:
    """A readable name for a garbage object: its type, and for a frame or function where its code lives."""
    kind = type(obj).__qualname__
    module = type(obj).__module__
    code = getattr(obj, "f_code", None) or getattr(obj, "__code__", None) or getattr(obj, "cr_code", None)
    if code is not None:
        return f"{kind}:{code.co_filename.rsplit('site-packages/', 1)[-1]}:{code.co_name}"
    if kind == "cell":
        return "cell"
    return f"{module}.{kind}"


def _dump(_signum: int, _frame: object) -> None:
    garbage = list(gc.garbage)
    gc.garbage.clear()
    types = Counter(_owner(obj) for obj in garbage)
    report = {"collections": list(collections), "garbage": len(garbage), "types": types.most_common(60),
              "counts": gc.get_count(), "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}
    collections.clear()
    del garbage
    Path(os.environ["GC_PROBE_OUT"]).write_text(json.dumps(report))


def _thaw(_signum: int, _frame: object) -> None:
    """What a full collection of the whole heap (frozen part included) finds: garbage a freeze kept."""
    debug = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.unfreeze()
    started = time.perf_counter()
    gc.collect()
    ms = (time.perf_counter() - started) * 1000
    gc.set_debug(debug)
    garbage = list(gc.garbage)
    gc.garbage.clear()
    types = Counter(_owner(obj) for obj in garbage)
    del garbage
    gc.freeze()
    Path(os.environ["GC_PROBE_OUT"]).write_text(json.dumps({
        "collections": [], "garbage": sum(types.values()), "types": types.most_common(60), "thaw_ms": ms,
        "counts": gc.get_count(), "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))


def main() -> int:
    gc.callbacks.append(_on_gc)
    if os.environ.get("GC_PROBE_SAVEALL"):
        gc.set_debug(gc.DEBUG_SAVEALL)
    signal.signal(signal.SIGUSR1, _dump)
    signal.signal(signal.SIGUSR2, _thaw)
    from supervisor.cli import main as cli_main

    sys.argv = ["discord-supervisor", *sys.argv[1:]]
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
