"""Files that were almost right: a `config.tml` or an `.env.txt` is skipped as it should be, but never silently."""

from __future__ import annotations

import difflib
from pathlib import Path

from supervisor.config import CONFIG_FILE
from supervisor.envfile import ENV_FILE


def _close(names: list[str], wanted: str) -> str | None:
    """The file name in `names` that was probably meant to be `wanted` (None when `wanted` is there)."""
    if wanted in names:
        return None
    stems = [n for n in names if n.lower().startswith(wanted.lower()) and n != f"{wanted}.example"]
    close = stems or difflib.get_close_matches(wanted, [n for n in names if n != f"{wanted}.example"], 1, 0.8)
    return close[0] if close else None


def hints(instances_dir: Path) -> list[str]:
    """One line per folder skipped (or left unconfigured) because a file name is slightly off."""
    return list(hints_by_folder(instances_dir).values())


def hints_by_folder(instances_dir: Path, only: set[str] | None = None) -> dict[str, str]:
    """Folder name -> its near miss, for every folder (or those named in `only`) that has one."""
    if only is not None:  # a live edit: only these folders are looked at, whatever the fleet's size
        folders = [instances_dir / name for name in sorted(only)]
    else:
        try:
            folders = sorted(p for p in instances_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return {}
    found = {folder.name: hint_for(folder) for folder in folders}
    return {name: hint for name, hint in found.items() if hint}


def hint_for(folder: Path) -> str | None:
    """The near miss of one instance folder, if its files are slightly off (None for a missing folder)."""
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()]
    except OSError:
        return None
    config = _close(names, CONFIG_FILE)
    if config and not (folder / CONFIG_FILE).exists():
        return f"{folder.name}: skipped: it has {config} but no {CONFIG_FILE}; rename it to {CONFIG_FILE}"
    env = _close(names, ENV_FILE)
    if env and (folder / CONFIG_FILE).exists():
        return f"{folder.name}: not configured: it has {env} but no {ENV_FILE}; rename it to {ENV_FILE}"
    return None
