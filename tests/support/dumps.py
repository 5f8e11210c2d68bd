"""Helpers for the backup and restore tests: fill an instance's tables, read them back, compare dumps."""

from __future__ import annotations

import asyncio
import gzip
import io
from pathlib import Path

import asyncpg

from supervisor.commands import backup, restore
from supervisor.database import quote_ident
from supervisor.settings import SupervisorSettings

TRICKY = "tab\there, newline\nthere, back\\slash, quote ' \" and ünïcode ✓"


async def fill(url: str, schema: str, marker: str) -> None:
    """A row or two in every table the migrations create, with text COPY has to escape."""
    connection = await asyncpg.connect(url, server_settings={"search_path": quote_ident(schema)})
    try:
        await connection.execute(f"""
            INSERT INTO tempbans (guild_id, user_id, moderator_id, reason, expires_at)
                VALUES ('1', '2', '3', '{marker}', now() + interval '1 day'), ('1', '4', '3', NULL, now());
            INSERT INTO guild_settings VALUES ('1', '55', NULL, TRUE);
            INSERT INTO stock_portfolios (guild_id, user_id, cash_balance) VALUES ('1', '2', 1234.5678);
            INSERT INTO stock_holdings (guild_id, user_id, symbol, quantity, avg_cost)
                VALUES ('1', '2', 'ACME', 3.25, 17.5);
            INSERT INTO stock_transactions (guild_id, user_id, symbol, action, quantity, price_per_share, total_amount)
                VALUES ('1', '2', 'ACME', 'BUY', 3.25, 17.5, 56.875);
            INSERT INTO stock_price_cache (symbol, price, prev_close, change_pct) VALUES ('ACME', 17.5, 17, 2.94);
            INSERT INTO member_activity (guild_id, user_id, message_count) VALUES ('1', '2', 42);
        """)
        await connection.execute("UPDATE tempbans SET reason = reason || $1 WHERE reason IS NOT NULL", TRICKY)
    finally:
        await connection.close()


async def add_ban(url: str, schema: str, reason: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            f"INSERT INTO {quote_ident(schema)}.tempbans "
            "(guild_id, user_id, moderator_id, reason, expires_at) "
            "VALUES ('1', '9', '3', $1, now() + interval '1 day')", reason)
    finally:
        await connection.close()


async def contents(url: str, schema: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table in the schema, as text, sorted."""
    connection = await asyncpg.connect(url)
    try:
        tables = [r["tablename"] for r in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema)]
        result = {}
        for table in tables:
            rows = await connection.fetch(f"SELECT t::text AS row FROM {quote_ident(schema)}.{quote_ident(table)} t")
            result[table] = sorted((row["row"],) for row in rows)
        return result
    finally:
        await connection.close()


def dump_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()


def dump_body(path: Path) -> list[str]:
    """The dump without its header comments, blank lines and pg_dump's per-dump random \\restrict key."""
    return [line for line in dump_text(path).splitlines()
            if line and not line.startswith("--") and not line.startswith(("\\restrict ", "\\unrestrict "))]


async def run_backup(settings: SupervisorSettings, state_dir: Path, names: list[str], every: bool = False,
                     output: Path | None = None, keep: int | None = None) -> tuple[int, str]:
    """The command as the CLI runs it (its own event loop, so in a thread here)."""
    out = io.StringIO()
    code = await asyncio.to_thread(backup.run, settings, state_dir, names, every, output, keep, out, out)
    return code, out.getvalue()


async def run_restore(settings: SupervisorSettings, state_dir: Path, control_socket: Path, name: str, file: Path,
                      yes: bool = True, from_schema: str | None = None, answer: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    asked: list[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return answer

    code = await asyncio.to_thread(restore.run, settings, state_dir, control_socket, name, file, yes, from_schema,
                                   confirm, out, out)
    return code, "\n".join(asked) + out.getvalue()
