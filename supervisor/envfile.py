"""An instance's `.env`: secrets and connection settings, read with dotenv_values and never via os.environ.

One process hosts many instances, so nothing here may touch the process environment: one instance's token
must never be visible to another, and the daemon's own environment never overrides an instance's file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from dotenv import dotenv_values

from supervisor.dburl import url_problem
from supervisor.mcp.instance_env import MCP_KEYS, InstanceMcp, parse_mcp
from supervisor.problems import Problem, shown
from supervisor.safe_read import UnreadableFile, read_regular_file

ENV_FILE = ".env"
ENV_MAX_BYTES = 64 * 1024
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
DEFAULT_SCHEMA = "public"  # discord-bot-rs's default: a folder of its runs here unchanged
_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1: a longer name would be cut silently
# Keys with a meaning of their own; every other non-empty key is kept as an API key / extra secret.
KNOWN_KEYS = ("DISCORD_TOKEN", "CLIENT_ID", "GUILD_ID", "DATABASE_URL", "DB_SCHEMA", *MCP_KEYS)


@dataclass(frozen=True)
class InstanceEnv:
    token: str = field(repr=False)
    client_id: int | None
    guild_id: int | None
    database_url: str | None = field(repr=False)  # None: the supervisor's database
    schema: str = ""
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    mcp: InstanceMcp | None = None  # MCP_PORT / MCP_BIND_ADDR / MCP_AUTH_TOKEN: this instance's own listener
    keys: frozenset[str] = frozenset()  # every key the file sets (non-empty), for the unused-key warnings


def schema_problem(schema: str) -> str | None:
    """Any name PostgreSQL takes when quoted (`My-Bot` too: every use quotes it), except its own."""
    if not schema:
        return "must not be empty"
    if "\x00" in schema:
        return "must not contain a NUL character"
    if len(schema.encode("utf-8")) > _IDENTIFIER_BYTES:
        return f"{shown(schema)} is longer than PostgreSQL's {_IDENTIFIER_BYTES} bytes for a name"
    if schema == "information_schema" or schema.startswith("pg_"):
        return f"{schema!r} is reserved by PostgreSQL; choose a name of this instance's own"
    return None


def sandbox_token(instance_name: str) -> str:
    """The invented token a sandbox instance logs in with; only the in-process emulator ever sees it."""
    return f"sandbox.{instance_name}"


def load_env(folder: Path, label: str, instance_name: str, *, sandbox: bool = False
             ) -> tuple[InstanceEnv | None, list[Problem]]:
    path = folder / ENV_FILE
    env_label = f"{label}/{ENV_FILE}"
    try:
        text = read_regular_file(path, ENV_MAX_BYTES).decode("utf-8")
    except FileNotFoundError:
        text = ""
    except UnreadableFile as error:
        return None, [Problem(env_label, "", str(error))]
    except UnicodeDecodeError:
        return None, [Problem(env_label, "", "is not UTF-8 text")]
    lines = _key_lines(text)
    raw = dotenv_values(stream=io.StringIO(text))
    values = {key: (value or "").strip() for key, value in raw.items()}
    if sandbox:
        # The sandbox never uses a real token, and keeps its data apart from a real deployment's schemas.
        values["DISCORD_TOKEN"] = sandbox_token(instance_name)
        values["DB_SCHEMA"] = ("sandbox_" + (values.get("DB_SCHEMA") or instance_name.replace("-", "_")))[:63]
    problems: list[Problem] = []

    def report(key: str, message: str) -> None:
        problems.append(Problem(env_label, key, message, lines.get(key)))

    token = values.get("DISCORD_TOKEN", "")
    if not token:
        report("DISCORD_TOKEN", "is required: the bot token from the Discord developer portal")
    elif token.startswith("your-"):
        report("DISCORD_TOKEN", "still has the placeholder value; put the bot's real token here")
    elif token.lower().startswith(("bot ", "bearer ")):
        report("DISCORD_TOKEN", f"starts with {token.split()[0]!r}: put the token alone (the bot adds 'Bot ' "
                                "itself when it logs in)")
    elif any(character.isspace() for character in token):
        report("DISCORD_TOKEN", "contains a space or line break: a token is one word; paste it again")

    snowflakes: dict[str, int | None] = {}
    for key in ("CLIENT_ID", "GUILD_ID"):
        value = values.get(key, "")
        snowflakes[key] = None
        if not value:
            continue
        if value.startswith("your-"):
            report(key, "still has the placeholder value; set it or remove the line")
        elif not _SNOWFLAKE.match(value):
            # Never the value: a token pasted here must not reach check, status or the logs.
            hint = " (this looks like a token: DISCORD_TOKEN is the place for it)" if "." in value else ""
            report(key, f"must be a numeric Discord ID (15-21 digits){hint}")
        else:
            snowflakes[key] = int(value)

    schema = values.get("DB_SCHEMA") or DEFAULT_SCHEMA
    message = schema_problem(schema)
    if message:
        report("DB_SCHEMA", message)

    mcp, mcp_problems = parse_mcp(values)
    for key, message in mcp_problems:
        report(key, message)

    database_url = values.get("DATABASE_URL") or None
    url_message = url_problem(database_url) if database_url else None
    if url_message:
        report("DATABASE_URL", url_message)

    if problems:
        return None, problems
    secrets = {k: v for k, v in values.items() if k not in KNOWN_KEYS and v}
    return InstanceEnv(
        token=token,
        client_id=snowflakes["CLIENT_ID"],
        guild_id=snowflakes["GUILD_ID"],
        database_url=database_url,
        schema=schema,
        secrets=MappingProxyType(secrets),
        mcp=mcp,
        keys=frozenset(key for key, value in values.items() if value),
    ), []


def _key_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines
