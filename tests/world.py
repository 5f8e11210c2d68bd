"""Old import path, kept while other branches still use it: import from `tests.support`; remove after merging."""

from tests.support.folders import config_text
from tests.support.world import BotWorld, add_bot, reply_to

__all__ = ["BotWorld", "add_bot", "config_text", "reply_to"]
