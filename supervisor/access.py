"""Who may read an instance's files, said so that a person knows what to do.

The daemon runs as a service user; an `.env` that root wrote afterwards (mode 0600, owner root) is readable by
root's `check` but not by the daemon. Both sides name the user, the owner and the mode, and the fix.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from supervisor.problems import Problem


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _owner_and_mode(info: os.stat_result) -> str:
    return f"owner {user_name(info.st_uid)}, mode {stat.S_IMODE(info.st_mode):04o}"


def cannot_read(path: Path) -> str:
    """The message for a file this process may not read."""
    try:
        info = os.stat(path)
    except OSError:
        return "cannot be read: permission denied (and its folder may not be entered)"
    me = user_name(os.geteuid())
    return f"cannot be read by {me} ({_owner_and_mode(info)}): chown {me} {path}, or run as its owner"


def readable_by(info: os.stat_result, uid: int) -> bool:
    if uid == 0 or info.st_mode & stat.S_IROTH:
        return True
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IRUSR)
    try:
        entry = pwd.getpwuid(uid)
        groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
    except KeyError:
        groups = []
    return info.st_gid in groups and bool(info.st_mode & stat.S_IRGRP)


def unreadable_for_folder_owner(folder: Path, label: str, names: list[str]) -> list[Problem]:
    """Run as root (`check` before the service starts): the files of `folder` its owner, the daemon's user,
    cannot read. Nothing when root owns the folder (no other user to ask about)."""
    try:
        owner = os.stat(folder).st_uid
    except OSError:
        return []
    if owner == 0:
        return []
    who = user_name(owner)
    found = []
    for name in names:
        try:
            info = os.stat(folder / name)
        except OSError:
            continue
        if not readable_by(info, owner):
            found.append(Problem(f"{label}/{name}", "", f"the daemon's user {who} (who owns {label}) cannot read it "
                                                        f"({_owner_and_mode(info)}): chown {who} {folder / name}"))
    return found
