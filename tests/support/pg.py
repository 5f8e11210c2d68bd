"""Helpers for the Postgres-operations tests: supervisor settings and instances, SQL, and what a server process
holds open (its children, sockets and TCP listeners, read from /proc)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg

from supervisor.pg.bundled import BundledPostgres
from supervisor.settings import SupervisorSettings
from tests.support.folders import InstanceFolders

SMALL_MAX_CONNECTIONS = 30


def settings_for(instances: InstanceFolders, database_url: str | None = None) -> SupervisorSettings:
    instances.root.mkdir(parents=True, exist_ok=True)
    return SupervisorSettings(instances_dir=instances.root, database_url=database_url)


def make_instance(instances: InstanceFolders, name: str, schema: str, database_url: str | None) -> None:
    env = {"DISCORD_TOKEN": f"{name}.token-{schema}", "DB_SCHEMA": schema}
    if database_url:
        env["DATABASE_URL"] = database_url
    instances.make(name, env=env)


async def execute(url: str, sql: str, *args: object) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


def postmaster_pid(server: BundledPostgres) -> int:
    return int((server.data / "postmaster.pid").read_text().splitlines()[0])


def server_pids(postmaster: int) -> set[int]:
    pids = {postmaster}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                pids.add(int(entry.name))
    return pids


def socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            links = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:
            continue
        inodes |= {link[len("socket:["):-1] for link in links if link.startswith("socket:[")}
    return inodes


def tcp_listeners() -> set[str]:
    """Inodes of every listening TCP socket (state 0A) on the machine."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                inodes.add(fields[9])
    return inodes


def tcp_ports_of(server: BundledPostgres) -> set[str]:
    return socket_inodes(server_pids(postmaster_pid(server))) & tcp_listeners()
