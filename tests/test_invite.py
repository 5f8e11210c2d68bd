"""`invite`, `check`'s intents column and the 4014 failure: what the enabled features need from Discord."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from discord import Permissions

from supervisor.emulator import Emulator
from tests.support import InstanceFolders, eventually, fake_token, run_cli

pytestmark = pytest.mark.e2e  # the command line as a separate process

BASE = {"view_channel", "send_messages", "embed_links", "read_message_history"}
MODERATION = {"ban_members", "kick_members", "moderate_members", "manage_messages"}
MUSIC = {"connect", "speak"}


def granted(url: str) -> Permissions:
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["bot"]
    return Permissions(int(query["permissions"][0]))


def permissions(names: set[str]) -> Permissions:
    return Permissions(**dict.fromkeys(names, True))


def test_invite_with_moderation_uses_client_id_from_env(instances: InstanceFolders) -> None:
    instances.make("mod", env={"DISCORD_TOKEN": fake_token("mod"), "CLIENT_ID": "123456789012345678"})
    result = run_cli("invite", "mod", "--instances", str(instances.root))
    assert result.returncode == 0, result.stderr
    url, listed, intents, others = result.stdout.splitlines()
    assert url.startswith("https://discord.com/oauth2/authorize?") and "client_id=123456789012345678" in url
    assert granted(url) == permissions(BASE | MODERATION | MUSIC)
    assert "ban_members" in listed and "connect" in listed and "speak" in listed
    assert "Server Members Intent (moderation)" in intents and "Message Content Intent" in intents
    assert others.endswith("voice_states (music)")


async def test_invite_core_only_asks_discord_for_the_client_id(instances: InstanceFolders, emu: Emulator) -> None:
    token = fake_token("plain")
    bot = emu.add_application(token, "plain-bot")
    instances.make("plain", config='bot_name = "P"\ncommand_prefix = "!"\n[features]\nmoderation = false\n'
                   'games = false\nmusic = false\n', env={"DISCORD_TOKEN": token})
    result = await asyncio.to_thread(run_cli, "invite", "plain", "--instances", str(instances.root),
                                     env={"DISCORD_API_BASE_URL": emu.api_base})
    assert result.returncode == 0, result.stderr
    url = result.stdout.splitlines()[0]
    assert f"client_id={bot.id}" in url
    assert granted(url) == permissions(BASE)
    assert "Server Members" not in result.stdout and "voice_states" not in result.stdout


def test_check_lists_privileged_intents(instances: InstanceFolders) -> None:
    instances.make("mod")
    instances.make("plain", config='bot_name = "P"\ncommand_prefix = "!"\n[features]\nmoderation = false\n')
    rows = run_cli("check", "--instances", str(instances.root)).stdout.splitlines()
    assert rows[0].endswith("PRIVILEGED INTENTS")
    assert rows[1].startswith("mod") and rows[1].endswith("members, message_content (+ moderation, voice_states)")
    assert rows[2].startswith("plain") and rows[2].endswith("  message_content (+ voice_states)")  # music is on


async def test_refused_intents_name_the_features_and_the_portal(harness_factory, emu: Emulator) -> None:
    h = await harness_factory()
    emu.application(h.token).privileged_intents = 0
    h.runner.restart()
    await eventually(lambda: h.status()["state"] == "failed", timeout=30)
    error = str(h.status()["last_error"])
    assert "Server Members Intent (moderation)" in error, error
    assert "Message Content Intent (prefix commands)" in error
    assert "https://discord.com/developers/applications" in error


def test_invite_unknown_instance(tmp_path: Path) -> None:
    result = run_cli("invite", "nosuch", "--instances", str(tmp_path))
    assert result.returncode == 1 and "no instance folder 'nosuch'" in result.stderr
