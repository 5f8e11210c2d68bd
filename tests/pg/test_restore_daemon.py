"""Restore while the daemon runs: that instance goes down and comes back with the backup's data; the other bot's
gateway session is untouched. (`emu` is the shared emulator fixture of tests/conftest.py.)"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from supervisor.emulator import Emulator
from tests.support import (
    DaemonProcess,
    InstanceFolders,
    add_bot,
    execute,
    reply_to,
    run_backup,
    run_restore,
    settings_for,
)

pytestmark = pytest.mark.e2e  # a daemon runs while the restore happens


@pytest.mark.slow
async def test_restore_while_the_daemon_runs(emu: Emulator, instances: InstanceFolders, tmp_path: Path,
                                             database_url: str, schemas: list[str], unique,
                                             state_dir: Path) -> None:
    alpha = add_bot(emu, instances, "alpha", prefix="!", schema=unique("rs_a"), database_url=database_url)
    beta = add_bot(emu, instances, "beta", prefix="?", schema=unique("rs_b"), database_url=database_url)
    schemas += [alpha.schema, beta.schema]
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url)
    await daemon.start()
    try:
        await daemon.wait_running("alpha", "beta")
        await execute(database_url,
                      f'INSERT INTO "{alpha.schema}".tempbans (guild_id, user_id, moderator_id, reason, expires_at) '
                      "VALUES ($1, '123456789012345678', $2, 'kept by the backup', now() + interval '1 day')",
                      str(alpha.guild.id), str(alpha.owner.id))
        assert "kept by the backup" in await reply_to(emu, alpha, "!banlist")
        settings = settings_for(instances)
        code, out = await run_backup(settings, state_dir, ["alpha"])
        assert code == 0, out
        [dump] = list((state_dir / "backups").iterdir())
        await execute(database_url, f'DELETE FROM "{alpha.schema}".tempbans')  # the data loss to recover from
        assert await reply_to(emu, alpha, "!banlist") == "No active tempbans."

        mark = len(daemon.logs)
        code, out = await run_restore(settings, state_dir, daemon.control_socket, "alpha", dump)
        assert code == 0, out
        assert "alpha: stopped by the running daemon for the restore" in out and "alpha: started again" in out
        await daemon.wait_running("alpha", start=mark)
        assert "kept by the backup" in await reply_to(emu, alpha, "!banlist")
        assert emu.identify_count(alpha.token) == 2  # it went down and came back
        assert "Pong" in await reply_to(emu, beta, "?ping")
        assert emu.identify_count(beta.token) == 1 and emu.resume_count(beta.token) == 0  # never disturbed
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]


@pytest.mark.slow
async def test_restore_refuses_when_the_daemon_keeps_the_instance_elsewhere(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str], unique,
        state_dir: Path) -> None:
    """An operator's shell without the daemon's DATABASE_URL must not restore into some other database."""
    alpha = add_bot(emu, instances, "alpha", prefix="!", schema=unique("rs_elsewhere"), database_url=database_url)
    schemas.append(alpha.schema)
    env_file = alpha.folder / ".env"
    env_file.write_text("\n".join(line for line in env_file.read_text().splitlines()
                                  if not line.startswith("DATABASE_URL=")) + "\n")  # the daemon's own URL applies
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           database_url=database_url)
    await daemon.start()
    try:
        await daemon.wait_running("alpha")
        dump = tmp_path / "alpha.sql"
        code, out = await run_backup(settings_for(instances, database_url), state_dir, ["alpha"], output=dump)
        assert code == 0, out
        other_database = urlunsplit(urlsplit(database_url)._replace(path="/template1"))
        elsewhere = settings_for(instances, other_database)
        code, out = await run_restore(elsewhere, state_dir, daemon.control_socket, "alpha", dump)
        assert code == 1
        assert "the running daemon keeps instance alpha in schema" in out and "template1" in out
        assert "stopped by the running daemon" not in out
        assert emu.identify_count(alpha.token) == 1  # never stopped
    finally:
        assert await daemon.stop() == 0, daemon.stderr_text[-3000:]
