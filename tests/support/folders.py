"""Instance folders on disk, written the way a user would, and the repository they are tested from."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fake_token(name: str) -> str:
    return f"{name}.{secrets.token_hex(12)}"


def config_text(name: str, prefix: str = "!", extra: str = "", bot_name: str | None = None) -> str:
    """A minimal config.toml: the bot's name and prefix, flat commands (`command_root = ""`, unless `extra` sets
    it: unset it means "m", discord-bot-rs's default), then `extra` (tables such as `[features]`)."""
    root = "" if "command_root" in extra else 'command_root = ""\n'
    return f'bot_name = "{bot_name or name.title() + " Bot"}"\ncommand_prefix = "{prefix}"\n{root}{extra}'


def save(path: Path, text: str) -> None:
    """Save like an editor does: write a new file, then rename it over the old one. A test that writes in place
    lets the daemon's watcher read a half-written file under load (an empty .env is a different instance)."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class InstanceFolders:
    """Writes instance folders the way a user would."""

    def __init__(self, root: Path):
        self.root = root

    def make(
        self,
        name: str,
        *,
        config: str | None = None,
        env: dict[str, str] | str | None = None,
        personality: str | bytes | None = "You are a helpful test bot.",
        prefix: str = "!",
        explicit_schema: bool = True,
    ) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        if config is None:
            config = f'bot_name = "{name} bot"\ncommand_prefix = "{prefix}"\ncommand_root = ""\n'
        (folder / "config.toml").write_text(config, encoding="utf-8")
        if personality is not None:
            data = personality.encode() if isinstance(personality, str) else personality
            (folder / "personality.txt").write_bytes(data)
        if env is not None:
            if isinstance(env, dict) and explicit_schema:
                # DB_SCHEMA explicit (unset it means `public`, as in discord-bot-rs): the folder's name, as the
                # tests were written for. A test about the default passes explicit_schema=False.
                env = {**env, "DB_SCHEMA": env.get("DB_SCHEMA", name.replace("-", "_"))}
            if isinstance(env, dict):
                env = "".join(f"{key}={value}\n" for key, value in env.items())
            (folder / ".env").write_text(env, encoding="utf-8")
        return folder
