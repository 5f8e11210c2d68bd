"""Log lines as journald and a person read them.

Under systemd (JOURNAL_STREAM names our stderr), each line starts with its syslog priority, `<3>` for an error,
`<4>` for a warning, `<6>` for info: journald files the line at that priority, so `journalctl -p warning` shows the
warnings and errors and nothing else. And discord.py's noise is tamed: its reconnect attempts (a 55-line traceback
each, several a second while Discord is unreachable) become one line with the error, the trace at debug level;
its notes that optional voice libraries are missing are info, not warnings (voice is the music feature's concern).
"""

from __future__ import annotations

import logging
import os
from typing import TextIO

PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


def is_journal(stream: TextIO) -> bool:
    """Whether `stream` is the journald stream systemd connected us to (JOURNAL_STREAM is `device:inode`)."""
    expected = os.environ.get("JOURNAL_STREAM")
    if not expected:
        return False
    try:
        found = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor (a StringIO, a test's sink)
        return False
    return expected == f"{found.st_dev}:{found.st_ino}"


def priority_of(levelno: int) -> int:
    for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= level:
            return PRIORITY[level]
    return PRIORITY[logging.DEBUG]


def with_priority(formatter: logging.Formatter) -> logging.Formatter:
    """`formatter`, each line of its output prefixed with the record's syslog priority (`<4>`)."""
    inner = formatter.format

    def format(record: logging.LogRecord) -> str:
        prefix = f"<{priority_of(record.levelno)}>"
        return "\n".join(prefix + line for line in inner(record).split("\n"))

    formatter.format = format  # type: ignore[method-assign]
    return formatter


class DiscordNoise(logging.Filter):
    """On the `discord` loggers: a reconnect attempt is one line (the error named), its traceback at debug level;
    the missing-voice-library notes are info."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if record.exc_info and message.startswith("Attempting a reconnect"):
            error = record.exc_info[1]
            logger = logging.getLogger("supervisor.discord")  # discord's own loggers stay at INFO even at debug
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("discord_reconnect_traceback", exc_info=record.exc_info)
            record.msg = f"{message} ({type(error).__name__}: {error})" if error else message
            record.exc_info, record.exc_text, record.levelno, record.levelname = None, None, logging.WARNING, "WARNING"
        elif "voice will NOT be supported" in message and record.levelno == logging.WARNING:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True
