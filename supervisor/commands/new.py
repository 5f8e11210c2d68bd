"""`discord-supervisor new NAME`: a new instance folder from the shipped example, ready but for the token."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import TextIO

from supervisor.instances import NAME_PATTERN
from supervisor.settings import SupervisorSettings


def template_directory() -> Path:
    """The example instance shipped in the package, or the source tree's (a checkout)."""
    packaged = resources.files("supervisor") / "example_instance"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent.parent / "instances" / "example"


def owner_ids(owner: str) -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def run(settings: SupervisorSettings, name: str, out: TextIO = sys.stdout, owner: str | None = None) -> int:
    ids = owner_ids(owner) if owner else None
    if owner and ids is None:
        print(f"error: --owner {owner!r}: no such user (create the service user first)", file=sys.stderr)
        return 1
    if not NAME_PATTERN.match(name):
        print(f"error: {name!r} is not a valid instance name: use lowercase letters, digits, - or _ "
              "(starting with a letter or digit)", file=sys.stderr)
        return 1
    target = settings.instances_dir / name
    if target.exists():
        print(f"error: {target} already exists", file=sys.stderr)
        return 1
    try:
        settings.instances_dir.mkdir(parents=True, exist_ok=True)
        target.mkdir()
    except PermissionError:
        where = _first_unwritable(target)
        print(f"error: cannot create {target}: {where} is not writable by {_me()}; run it as the user who owns "
              f"{where} (e.g. with sudo, and --owner for the service user), or choose another --instances "
              "directory", file=sys.stderr)
        return 1
    return _fill(target, name, out, owner, ids, settings)


def _me() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _first_unwritable(path: Path) -> Path:
    """The nearest existing parent of `path`: the directory that refused the new folder."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _fill(target: Path, name: str, out: TextIO, owner: str | None, ids: tuple[int, int] | None,
          settings: SupervisorSettings) -> int:
    template = template_directory()
    for file_name in ("config.toml", "personality.txt"):
        shutil.copyfile(template / file_name, target / file_name)
    config = (target / "config.toml").read_text(encoding="utf-8")
    title = name.replace("-", " ").replace("_", " ").title()
    config = config.replace('bot_name = "Example Bot"', f'bot_name = "{title} Bot"', 1)
    (target / "config.toml").write_text(config, encoding="utf-8")
    personality = (target / "personality.txt").read_text(encoding="utf-8").replace("Example Bot", f"{title} Bot")
    (target / "personality.txt").write_text(personality, encoding="utf-8")
    schema = re.sub(r"[^a-z0-9_]", "_", name.replace("-", "_"))
    if not re.match(r"^[a-z_]", schema):
        schema = f"bot_{schema}"
    env = (template / ".env.example").read_text(encoding="utf-8")
    env = re.sub(r"^# DB_SCHEMA=.*$", f"DB_SCHEMA={schema[:63]}", env, count=1, flags=re.MULTILINE)
    env_path = target / ".env"
    env_path.write_text(env, encoding="utf-8")
    env_path.chmod(0o600)  # it will hold a token
    if ids is not None:  # the service user must read its .env: give it the folder (root only)
        try:
            for path in (target, *target.iterdir()):
                os.chown(path, *ids)
        except PermissionError:
            shutil.rmtree(target)
            print(f"error: only root may give {target} to {owner!r}; run it with sudo", file=sys.stderr)
            return 1
    owned = f", owned by {owner}" if owner else ""
    print(f"Created {target} (schema {schema[:63]}{owned}).", file=out)
    print(f"Left to do: put the bot's token in {env_path} as DISCORD_TOKEN=... ", file=out)
    print(f"Then `discord-supervisor check --instances {settings.instances_dir}`; a running daemon picks the "
          "folder up by itself.", file=out)
    return 0
