"""/metrics and the HTTP listener's limits, against a daemon process and the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from supervisor.daemon.control import request
from supervisor.emulator import Emulator
from supervisor.pg.budget import server_key
from tests.support import REPO, DaemonProcess, InstanceFolders, add_bot

pytestmark = pytest.mark.e2e

ROOTLESS = 'command_root = ""\n'


async def start_daemon(emu: Emulator, instances: InstanceFolders, tmp_path: Path) -> tuple[DaemonProcess, str]:
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--http-listen", "127.0.0.1:0"))
    await daemon.start()
    listening = await daemon.wait_log(lambda e: e.get("event") == "http_listening")
    return daemon, listening["url"].rstrip("/")


async def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, parsed by prometheus-client's own parser: (name, labels) -> value."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as answer:
        assert answer.status == 200 and answer.content_type == "text/plain"
        text = await answer.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def of(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_command_shows_in_its_instances_counters_and_counters_only_increase(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique: Any) -> None:
    alpha = add_bot(emu, instances, "alpha", prefix="!", schema=unique("met_a"), database_url=database_url,
                    config_extra=ROOTLESS)
    beta = add_bot(emu, instances, "beta", prefix="?", schema=unique("met_b"), database_url=database_url,
                   config_extra=ROOTLESS)
    schemas += [alpha.schema, beta.schema]
    daemon, base = await start_daemon(emu, instances, tmp_path)
    try:
        await daemon.wait_running("alpha", "beta")
        first = await scrape(base)
        prefix = "discord_supervisor_"
        assert of(first, prefix + "instance_up", instance="alpha") == 1
        assert of(first, prefix + "instance_state", instance="alpha", state="running") == 1
        assert of(first, prefix + "instances", state="running") == 2
        assert of(first, prefix + "loop_lag_seconds_count") > 0 and ("process_resident_memory_bytes", ()) in first
        assert of(first, prefix + "instance_db_pool_connections", instance="alpha", state="idle") >= 0
        server = (("database", server_key(database_url)),)
        assert (prefix + "db_connections", server) in first and of(first, prefix + "db_connection_limit",
                                                                    database=server_key(database_url)) > 0

        await emu.send_message(alpha.channel, alpha.owner, "!ping")
        reply = await emu.wait_for_bot_message(channel=alpha.channel, bot=alpha.bot_user)
        assert "Pong" in reply.content
        await emu.send_message(alpha.channel, alpha.owner, "!nosuchcommand")  # not a command: not counted
        second = await scrape(base)

        for instance, gained in (("alpha", 1), ("beta", 0)):
            assert of(second, prefix + "instance_commands_total", instance=instance) == \
                of(first, prefix + "instance_commands_total", instance=instance) + gained
        assert of(second, prefix + "instance_replies_total", instance="alpha") >= \
            of(first, prefix + "instance_replies_total", instance="alpha") + 1
        assert of(second, prefix + "instance_rest_requests_total", instance="alpha") > \
            of(first, prefix + "instance_rest_requests_total", instance="alpha")
        assert of(second, prefix + "instance_events_total", instance="alpha", event="message") >= \
            of(first, prefix + "instance_events_total", instance="alpha", event="message") + 2
        counters = [key for key in first if key[0].endswith("_total") or key[0].endswith("_count")
                    or key[0].endswith("_bucket")]
        assert counters
        for key in counters:
            assert second.get(key, 0.0) >= first[key], key  # a counter never goes down between scrapes
        assert all(dict(labels).keys() <= {"instance", "state", "event", "database", "host", "le"}
                   for _name, labels in second)  # bounded label sets: no guild, channel or user
        # Every metric the docs' alert rules, table and the Grafana dashboard name is one the daemon serves.
        documented = set(re.findall(r"discord_supervisor_[a-z_]+", (REPO / "docs" / "observability.md").read_text()
                                    + (REPO / "docs" / "grafana-dashboard.json").read_text()))
        served = {name.removesuffix(end) for name, _labels in second for end in ("", "_bucket", "_count", "_sum")}
        feature_counters = {"discord_supervisor_instance_quote_cache_hits_total"}  # only once a quote was cached
        assert documented - served - feature_counters == set()

        # A restart, then a pause and a resume (a new runner for alpha): its counters, restarts included, carry on.
        scrapes = [second]
        for command in ("restart", "pause", "resume"):
            mark = daemon.book.mark()
            assert (await request(daemon.control_socket, {"command": command, "name": "alpha"}))["ok"]
            if command != "pause":
                await daemon.wait_running("alpha", start=mark)
            scrapes.append(await scrape(base))
        assert of(scrapes[1], prefix + "instance_restarts_total", instance="alpha") == \
            of(second, prefix + "instance_restarts_total", instance="alpha") + 1
        assert of(scrapes[2], prefix + "instance_state", instance="alpha", state="stopped") == 1
        for before, after in itertools.pairwise(scrapes):
            for key in counters:
                assert after.get(key, 0.0) >= before[key], key
    finally:
        assert await daemon.stop(signal.SIGTERM) == 0


async def test_idle_connections_are_closed_while_the_daemon_keeps_answering(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path) -> None:
    instances.root.mkdir(exist_ok=True)  # a daemon with no instance: only its listener matters here
    daemon, base = await start_daemon(emu, instances, tmp_path)
    host, port = base.removeprefix("http://").split(":")
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(500):  # connections that never send a request
            idle.append(await asyncio.open_connection(host, int(port)))
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as answer:
            assert answer.status == 200  # answered while 500 idle connections are open

        async def closed(reader: asyncio.StreamReader) -> bytes:
            return await reader.read()  # b"" once the daemon closes it

        async with asyncio.timeout(60):  # the daemon's idle timeout is 5 s; generous under load
            answers = await asyncio.gather(*(closed(reader) for reader, _writer in idle))
        assert answers == [b""] * 500
        async with aiohttp.ClientSession() as http, http.get(f"{base}/") as answer:
            assert answer.status == 200
    finally:
        for _reader, writer in idle:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        assert await daemon.stop(signal.SIGTERM) == 0
