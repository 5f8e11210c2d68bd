"""The daemon (`python tests/support/loop_holder.py run ...`), whose event loop a SIGUSR1 holds for
LOOP_HOLD_SECONDS (default 6): as a bot's blocking call or a saturated loop would, nothing on the loop runs
meanwhile, while the process itself runs (unlike a SIGSTOP)."""

import os
import signal
import sys
import time

from supervisor.cli import main

HOLD = float(os.environ.get("LOOP_HOLD_SECONDS", "6"))

# A Python signal handler runs on the main thread, which is the event loop's: the loop is held for HOLD.
signal.signal(signal.SIGUSR1, lambda _signum, _frame: time.sleep(HOLD))
sys.exit(main())
