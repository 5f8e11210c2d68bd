"""help as the original's: Games and Stocks for everyone, Moderation and Admin by permission, the shortcuts line."""

from __future__ import annotations

from typing import Any

from supervisor.emulator import P
from supervisor.sdk import VERSION
from tests.support import FeatureHarness


def fields(message: Any) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


async def test_sections_follow_the_members_permissions(harness_factory) -> None:
    h: FeatureHarness = await harness_factory(name="helpful", config_extra='command_root = "m"\n')
    member = h.add_member("member")
    cleaner = h.add_member("cleaner", permissions=int(P.MANAGE_MESSAGES))
    banner = h.add_member("banner", permissions=int(P.BAN_MEMBERS))

    shown = await h.say_message(member, "!m help")
    embed = shown.embeds[0]
    assert embed["title"] == "Helpful Bot Commands"
    assert embed["footer"]["text"] == f"Helpful Bot v{VERSION}"
    assert embed["description"] == ("@mention me to chat, search the web, play music, trade stocks, or start games "
                                    "— all in plain English.")
    plain = fields(shown)
    assert list(plain) == ["Music", "Games", "Stocks", "Core", "Shortcuts"]
    assert plain["Music"].startswith("`!m loop [off|track|queue]` — ")
    assert "`!m play <song or URL>` — " in plain["Music"]
    assert plain["Games"].splitlines()[:2] == ["`!m connections` — Play today's NYT Connections",
                                               "`!m connections date <YYYY-MM-DD>` — a given day's puzzle"]
    assert "`!m wordle random` — Random Wordle" in plain["Games"]
    assert plain["Shortcuts"] == ("`l` loop · `np` nowplaying · `p` play · `pl` playlist · `q` queue · `r` resume · "
                                  "`s` skip · `conn` connections · `w` wordle · `st` stock · `h` help")

    moderation = fields(await h.say_message(cleaner, "!m h"))["Moderation"]
    assert moderation.startswith("`!m nuke <1-100>`") and "ban" not in moderation
    moderation = fields(await h.say_message(banner, "!m help"))["Moderation"]
    assert "`!m ban " in moderation and "`!m unban " in moderation and "`!m banlist`" in moderation
    assert "nuke" not in moderation

    owner = fields(await h.say_message(h.owner, "!m help"))
    assert list(owner) == ["Music", "Games", "Stocks", "Core", "Moderation", "Admin", "Shortcuts"]
    assert "`!m setlog <channel>`" in owner["Admin"] and "setlog" not in owner["Moderation"]
    assert owner["Shortcuts"].endswith("`bans` banlist · `h` help")


async def test_games_off_leave_help(harness_factory) -> None:
    h: FeatureHarness = await harness_factory(config_extra='command_root = ""\n[features]\ngames = false\n'
                                                           'ai_chat = false\nmusic = false\n')
    shown = await h.say_message(h.add_member("member"), "!help")
    assert "Games" not in fields(shown) and "wordle" not in str(shown.embeds)
    assert "description" not in shown.embeds[0]  # no AI chat: a mention does nothing, so help does not offer it
    assert fields(shown)["Shortcuts"] == "`st` stock · `h` help"
    await h.send(h.owner, "!wordle")  # not a command of this bot: nothing at all
    probe = await h.send(h.owner, "!ping")
    assert (await h.emu.wait_for_bot_message(bot=h.bot_user)).reference_id == probe.id
