"""Discord embed conventions shared by features: the colours users know, and fitting text into the limits."""

from __future__ import annotations

BLURPLE = 0x5865F2  # help, about, settings
RED = 0xED4245  # bans and other actions against a member
GREEN = 0x57F287  # actions that lift something
GOLD = 0xF1C40F  # games: leaderboards, winnings

DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024


def fit_lines(lines: list[str], limit: int = DESCRIPTION_LIMIT) -> str:
    """Join as many whole lines as fit in `limit`, ending with "+N more" when some had to go."""
    if len("\n".join(lines)) <= limit:
        return "\n".join(lines)
    used = 0  # length of the first `shown` lines joined by newlines
    shown = 0
    for line in lines:
        tail = len(f"\n+{len(lines) - shown - 1} more")
        if used + (1 if shown else 0) + len(line) + tail > limit:
            break
        used += (1 if shown else 0) + len(line)
        shown += 1
    return "\n".join([*lines[:shown], f"+{len(lines) - shown} more"])
