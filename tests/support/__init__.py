"""Every plain helper of the tests, one import point: test modules import from `tests.support` only, never from
another test module or a conftest. Fixtures live in the conftest.py files (the harness's and the Finnhub
stand-in's beside their helpers, registered as plugins by tests/conftest.py).

A package rather than one file because the helpers are ~1500 lines of unrelated jobs; each module has one:
bots (plain discord.py bots for the emulator's own tests), folders (instance folders on disk), waiting
(`eventually`), logbook (log events to wait for and count), daemon (the daemon and CLI as processes), world (a
bot's guild for daemon tests), harness (one instance in-process), sandbox (the sandbox as a process), check
(`check` in-process), finnhub and llm_standins (stand-ins for upstream APIs), postgres (the test database),
tcp_proxy (outages on demand), pg and pg_freeze (Postgres-operations
helpers), dumps (backup/restore helpers).
"""


from supervisor.pg.scratch import scratch_server, scratch_state_dir
from tests.support.bots import BotRunner, World, add_ping, full_intents
from tests.support.check import GOOD_ENV, run_check
from tests.support.daemon import DaemonProcess, run_cli, run_cli_async, status
from tests.support.dburls import socket_url, with_database, with_options, with_password
from tests.support.dumps import TRICKY, add_ban, contents, dump_body, dump_text, fill, run_backup, run_restore
from tests.support.finnhub import FinnhubStandIn
from tests.support.folders import REPO, InstanceFolders, config_text, fake_token, save
from tests.support.harness import FeatureHarness, config_for, message_text
from tests.support.llm_standins import Answer, Recorded, StandIn, error, text, tool
from tests.support.logbook import LogBook, LogPredicate, captured_logs, event
from tests.support.markdown import commands
from tests.support.mc_plugin import McPluginStandIn, post_webhook
from tests.support.nyt import ManualClock
from tests.support.pg import (
    SMALL_MAX_CONNECTIONS,
    execute,
    make_instance,
    postmaster_pid,
    server_pids,
    settings_for,
    socket_inodes,
    tcp_listeners,
    tcp_ports_of,
)
from tests.support.pg_freeze import frozen
from tests.support.postgres import as_role, scratch_database, server_major
from tests.support.sandbox import SandboxSession
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually
from tests.support.world import BotWorld, add_bot, reply_to

__all__ = [
    "GOOD_ENV",
    "REPO",
    "SMALL_MAX_CONNECTIONS",
    "TRICKY",
    "Answer",
    "BotRunner",
    "BotWorld",
    "DaemonProcess",
    "FeatureHarness",
    "FinnhubStandIn",
    "InstanceFolders",
    "LogBook",
    "LogPredicate",
    "ManualClock",
    "McPluginStandIn",
    "Recorded",
    "SandboxSession",
    "StandIn",
    "TcpProxy",
    "World",
    "add_ban",
    "add_bot",
    "add_ping",
    "as_role",
    "captured_logs",
    "commands",
    "config_for",
    "config_text",
    "contents",
    "dump_body",
    "dump_text",
    "error",
    "event",
    "eventually",
    "execute",
    "fake_token",
    "fill",
    "frozen",
    "full_intents",
    "make_instance",
    "message_text",
    "post_webhook",
    "postgres",
    "postmaster_pid",
    "reply_to",
    "run_backup",
    "run_check",
    "run_cli",
    "run_cli_async",
    "run_restore",
    "save",
    "scratch_database",
    "scratch_server",
    "scratch_state_dir",
    "server_major",
    "server_pids",
    "settings_for",
    "socket_inodes",
    "socket_url",
    "status",
    "tcp_listeners",
    "tcp_ports_of",
    "text",
    "tool",
    "with_database",
    "with_options",
    "with_password",
]
