"""The bundled server: private, Unix socket only, data kept across restarts, shared safely between processes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import asyncpg
import pytest

from supervisor.pg.bundled import BundledError, BundledPostgres
from tests.support import scratch_state_dir, tcp_ports_of, with_password


async def test_data_survives_a_restart_and_no_tcp_port_is_opened(state_dir: Path) -> None:
    server = BundledPostgres(state_dir)
    url = await server.start()
    assert (state_dir / "postgres" / "data" / "PG_VERSION").is_file()
    socket_file = state_dir / "postgres" / "run" / ".s.PGSQL.5432"
    assert socket_file.is_socket() and f"host={state_dir}/postgres/run" in url
    assert oct(socket_file.parent.stat().st_mode & 0o777) == "0o700"
    assert tcp_ports_of(server) == set()
    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval("SHOW listen_addresses") == ""
        await connection.execute("CREATE SCHEMA keepsake; CREATE TABLE keepsake.notes (body TEXT)")
        await connection.execute("INSERT INTO keepsake.notes VALUES ('written before the restart')")
    finally:
        await connection.close()
    assert await server.stop() is True
    with pytest.raises(OSError):
        await asyncpg.connect(url, timeout=3)

    again = BundledPostgres(state_dir)
    url = await again.start()
    try:
        assert again.started_here
        connection = await asyncpg.connect(url)
        try:
            assert await connection.fetchval("SELECT body FROM keepsake.notes") == "written before the restart"
        finally:
            await connection.close()
        assert tcp_ports_of(again) == set()
    finally:
        await again.stop()


async def test_the_listener_check_would_see_a_tcp_port() -> None:
    """The check above can fail: the same server told to listen on TCP is caught."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with scratch_state_dir() as state:
        server = BundledPostgres(state, {"listen_addresses": "127.0.0.1", "port": str(port)})
        await server.start()
        try:
            assert len(tcp_ports_of(server)) == 1
        finally:
            await server.stop()


async def test_the_last_user_stops_the_server(state_dir: Path) -> None:
    daemon = BundledPostgres(state_dir)
    url = await daemon.start()
    backup_job = BundledPostgres(state_dir)  # a second process, e.g. the nightly backup
    assert await backup_job.start() == url
    assert not backup_job.started_here
    assert await backup_job.stop() is False  # the daemon still uses it
    connection = await asyncpg.connect(url)
    await connection.close()
    assert await daemon.stop() is True
    with pytest.raises(OSError):
        await asyncpg.connect(url, timeout=3)


async def test_a_password_protected_cluster_refuses_a_wrong_password(state_dir: Path) -> None:
    server = BundledPostgres(state_dir, password="right horse battery")
    url = await server.start()
    try:
        connection = await asyncpg.connect(url)
        await connection.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(with_password(url, "wrong"))
    finally:
        await server.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand the server to another user")
async def test_root_with_a_root_owned_state_dir_is_told_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(BundledError, match=r"PostgreSQL refuses to run as root.*chown -R USER"):
        await BundledPostgres(tmp_path / "state").start()
