"""structlog setup: human-readable on a terminal, JSON lines otherwise (journald, files, tests)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from supervisor import journal
from supervisor.logring import ring_processor


def configure(level: str = "INFO", json: bool | None = None, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            ring_processor,  # each instance's last lines, for the console
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # JSON lines carry a traceback as data (exc_type, exc_value, frames), not one escaped string
            structlog.processors.dict_tracebacks if json else structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler.setFormatter(journal.with_priority(formatter) if journal.is_journal(stream) else formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # discord.py logs per module, not per client; our runtime binds `instance=` through contextvars.
    logging.getLogger("discord").setLevel(max(logging.INFO, root.level))
    for name in ("discord.client", "discord.shard"):  # reconnect tracebacks: one line each (journal.py)
        if not any(isinstance(f, journal.DiscordNoise) for f in logging.getLogger(name).filters):
            logging.getLogger(name).addFilter(journal.DiscordNoise())
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch of changes at INFO


def get_logger(name: str = "supervisor", **bound: object) -> structlog.stdlib.BoundLogger:
    logger = structlog.get_logger(name)
    # Unbound, it stays a lazy proxy: a module-level logger made before configure() still follows it.
    return logger.bind(**bound) if bound else logger
