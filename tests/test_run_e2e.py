"""`discord-supervisor run` as a separate process: several bots, one process, each under its own prefix."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot

pytestmark = pytest.mark.e2e  # the daemon as a separate process


def daemon_for(emu: Emulator, instances: InstanceFolders, tmp_path: Path, **kwargs) -> DaemonProcess:
    return DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url, **kwargs)


async def test_two_bots_answer_under_their_own_prefix_only(emu: Emulator, instances: InstanceFolders,
                                                           tmp_path: Path, database_url: str, schemas: list[str],
                                                           unique) -> None:
    bang = add_bot(emu, instances, "bang", prefix="!", schema=unique("e2e_bang"), database_url=database_url,
                   bot_name="Bang Bot")
    # The second bot shares the first one's guild: both see every message there.
    question = add_bot(emu, instances, "question", prefix="?", schema=unique("e2e_q"), database_url=database_url,
                       bot_name="Question Bot", guild=bang.guild, owner=bang.owner,
                       config_extra="[features]\nstocks = false\n")  # on, without its key, it would warn
    schemas += [bang.schema, question.schema]
    with (instances.root / "bang" / ".env").open("a") as env:
        env.write("RUST_LOG=info\n")  # discord-bot-rs's: read by nothing here, so a warning in the log
    daemon = await daemon_for(emu, instances, tmp_path).start()
    try:
        await daemon.wait_running("bang", "question")
        warned = daemon.find(lambda e: e.get("event") == "instance_config_warnings" and e.get("instance") == "bang")
        assert warned is not None and any("RUST_LOG: not used" in w for w in warned["warnings"]), warned
        assert daemon.find(lambda e: e.get("event") == "instance_config_warnings"
                           and e.get("instance") == "question") is None
        channel, user = bang.channel, bang.owner

        await emu.send_message(channel, user, "!ping")
        reply = await emu.wait_for_bot_message(channel=channel)
        assert reply.author_id == bang.bot_user.id and "Pong" in reply.content and "ms" in reply.content

        await emu.send_message(channel, user, "?ping")
        reply = await emu.wait_for_bot_message(channel=channel)
        assert reply.author_id == question.bot_user.id and "Pong" in reply.content

        await emu.send_message(channel, user, "!help")
        reply = await emu.wait_for_bot_message(channel=channel)
        assert reply.author_id == bang.bot_user.id
        embed = reply.embeds[0]
        assert embed["title"] == "Bang Bot Commands"
        text = str(embed["fields"])
        assert "`!ping`" in text and "`?ping`" not in text

        await emu.send_message(channel, user, "?help")
        reply = await emu.wait_for_bot_message(channel=channel)
        assert reply.author_id == question.bot_user.id and reply.embeds[0]["title"] == "Question Bot Commands"
        assert "`?ping`" in str(reply.embeds[0]["fields"])

        # Exactly one bot answered each command: nothing else is waiting.
        await emu.send_message(channel, user, "?about")
        about = await emu.wait_for_bot_message(channel=channel)
        assert about.author_id == question.bot_user.id
        assert "question" in str(about.embeds[0]["fields"]) and about.embeds[0]["title"] == "Question Bot"
        assert len([m for m in emu.bot_messages if m.channel_id == channel.id]) == 5
        assert emu.unknown_routes == []
    finally:
        code = await daemon.stop(signal.SIGTERM)
    assert code == 0, daemon.stderr_text[-3000:]
    assert not emu.connected(bang.token) and not emu.connected(question.token)
    assert "DISCORD_TOKEN" not in daemon.stderr_text and bang.token not in daemon.stderr_text


async def test_bad_token_fails_alone_with_a_clear_reason(emu: Emulator, instances: InstanceFolders, tmp_path: Path,
                                                         database_url: str, schemas: list[str], unique) -> None:
    good = add_bot(emu, instances, "good", prefix="!", schema=unique("e2e_good"), database_url=database_url)
    bad = add_bot(emu, instances, "bad", prefix="!", schema=unique("e2e_bad"), database_url=database_url,
                  register_token=False)
    schemas += [good.schema, bad.schema]
    daemon = await daemon_for(emu, instances, tmp_path).start()
    try:
        failure = await daemon.wait_log(lambda e: e.get("event", "").startswith("instance_failed")
                                        and e.get("instance") == "bad")
        assert "Discord refused the token (401)" in failure["reason"]
        await daemon.wait_running("good")
        await emu.send_message(good.channel, good.owner, "!ping")
        reply = await emu.wait_for_bot_message(channel=good.channel)
        assert "Pong" in reply.content
    finally:
        assert await daemon.stop() == 0
    assert bad.token not in daemon.stderr_text
