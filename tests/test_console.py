"""The web console in a real browser (headless Chromium), against a daemon process and the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from supervisor.emulator import Emulator
from tests.support import DaemonProcess, InstanceFolders, add_bot, eventually, fake_token
from tests.support.browser import chromium
from tests.support.folders import REPO, save
from tests.support.hosts import make_hosts

pytestmark = pytest.mark.e2e

TOKEN = "console-test-token-8c1f5e"
API_KEY = "finnhub-secret-key-a93b7d2e"
HEADER = "provider-header-secret-5e0c71"  # an AI provider's extra header: the console shows headers as ***
PROVIDER = ('[ai.providers.own]\nurl = "https://llm.example/v1/chat/completions"\nmodel = "m"\n'
            f'api_key_env = "OWN_API_KEY"\nmax_tokens = 100\nheaders = {{ X-Api-Key = "{HEADER}" }}\n')
ROOTLESS = 'command_root = ""\n'


async def start_daemon(emu: Emulator, instances: InstanceFolders, tmp_path: Path, **env: str) -> tuple[DaemonProcess,
                                                                                                       str]:
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           extra_args=("--http-listen", "127.0.0.1:0", "--backoff-first", "0.2"),
                           env={"SUPERVISOR_HTTP_TOKEN": TOKEN, **env})
    await daemon.start()
    listening = await daemon.wait_log(lambda e: e.get("event") == "http_listening")
    return daemon, listening["url"]


@contextlib.asynccontextmanager
async def attacker_page(host: str, target: str) -> AsyncIterator[str]:
    """A page on another origin (another port) whose form posts itself to `target` with a guessed CSRF token."""
    html = (f'<form id="f" method="post" action="{target}"><input name="csrf" value="guess"></form>'
            '<script>document.getElementById("f").submit()</script>')
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://{host}:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


async def first_event(url: str, cookie: str) -> str:
    """A live feed's first event (all its page shows), as it is sent."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(20), http.get(
            url, headers={"cookie": f"ds_console={cookie}"}) as answer:
        assert answer.status == 200 and answer.content_type == "text/event-stream"
        text = ""
        async for chunk in answer.content.iter_any():
            text += chunk.decode()
            if "\ndata: " in text and text.endswith("\n\n"):
                assert '"row":' in text or '"rows":' in text
                return text
    raise AssertionError(f"the stream ended: {text!r}")


async def test_sign_in_live_fleet_table_red_on_failure_restart_and_no_secrets(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique: Any) -> None:
    alpha = add_bot(emu, instances, "alpha", prefix="!", schema=unique("con_a"), database_url=database_url,
                    config_extra=ROOTLESS + PROVIDER)
    beta = add_bot(emu, instances, "beta", prefix="?", schema=unique("con_b"), database_url=database_url,
                   config_extra=ROOTLESS)
    schemas += [alpha.schema, beta.schema]
    (alpha.folder / ".env").write_text((alpha.folder / ".env").read_text() + f"FINNHUB_API_KEY={API_KEY}\n")
    daemon, url = await start_daemon(emu, instances, tmp_path)
    try:
        await daemon.wait_running("alpha", "beta")
        async with chromium() as browser:
            page = await browser.page()
            await page.goto(url)
            assert page.url.endswith("/signin")  # no cookie yet: the console asks for the token first
            await page.fill("#token", TOKEN)
            await page.click("#signin")
            await page.wait_for_selector("#fleet")
            await page.wait_for_selector("#live.on")  # the live feed is connected
            for name in ("alpha", "beta"):
                await page.wait_for_selector(f"tr#i-{name}.s-running")
            cookie = next(c for c in await browser.context.cookies() if c["name"] == "ds_console")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]

            # beta fails (Discord refuses its new token): its row turns red on the open page, no reload.
            await page.evaluate("window.notReloaded = true")
            (beta.folder / ".env").write_text(f"DISCORD_TOKEN={fake_token('nobody')}\nDB_SCHEMA={beta.schema}\n"
                                              f"DATABASE_URL={database_url}\n")
            failed = await daemon.wait_log(lambda e: e.get("event") == "instance_failed"
                                           and e.get("instance") == "beta")
            await page.wait_for_selector("tr#i-beta.s-failed", timeout=20_000)  # pushed by the daemon
            assert await page.evaluate("window.notReloaded === true")
            # Within 2 s of the failure, by the daemon's and the page's clocks (one machine): no waiting here
            # depends on it, so a loaded machine slows the test, not the verdict.
            red_at = int(await page.get_attribute("tr#i-beta", "data-changed-at")) / 1000
            failed_at = dt.datetime.fromisoformat(failed["timestamp"]).timestamp()
            assert red_at - failed_at < 2.0, red_at - failed_at
            assert "401" in await page.text_content("tr#i-beta td.err")

            if os.environ.get("CONSOLE_SCREENSHOT"):  # docs/console.png, rewritten only when asked
                await page.set_viewport_size({"width": 1280, "height": 420})
                await page.screenshot(path=str(REPO / "docs" / "console.png"))

            # Restart alpha from its page: a confirmation, then the emulator sees a new IDENTIFY.
            identifies = emu.identify_count(alpha.token)
            await page.click("tr#i-alpha a")
            await page.wait_for_selector("#instance[data-name=alpha]")
            html = await page.content()
            page.once("dialog", lambda dialog: dialog.accept())
            await page.click("#do-restart")
            await page.wait_for_selector(".said")
            assert await page.text_content(".said") == "restart: done"
            await emu.wait_until(lambda: emu.identify_count(alpha.token) > identifies, timeout=20)
            assert "***" in html and "instance_running" in html  # masked config; its own log lines
            assert "llm.example" in html  # the provider is shown, its headers are not

            # Another site the signed-in browser visits posts the same form: its request changes nothing. From
            # another host the SameSite cookie stays home (401); from another port of this host it goes along,
            # and the Origin check and the CSRF token refuse it (403).
            identifies, logged = emu.identify_count(alpha.token), len(browser.console)
            for host, answer in (("localhost", "Unauthorized"), ("127.0.0.1", "Forbidden")):
                async with attacker_page(host, f"{url}instance/alpha/restart") as attacker:
                    await page.goto(attacker)
                    await page.wait_for_url(f"{url}instance/alpha/restart")
                    assert answer in await page.content()
            del browser.console[logged:]  # the browser's notes of those two refusals: not the console's errors
            assert emu.identify_count(alpha.token) == identifies
            assert daemon.count(lambda e: e.get("event") == "console_action") == 1  # only the real restart

            pages = [html, await page.content()]
            for path in ("/", "/instance/beta", "/signin", "/metrics"):
                await page.goto(url.rstrip("/") + path)
                pages.append(await page.content())
            for path in ("events", "events?instance=alpha", "events?instance=beta"):  # what the live pages are sent
                pages.append(await first_event(url + path, cookie["value"]))
            for text in pages:
                for secret in (alpha.token, beta.token, TOKEN, API_KEY, HEADER):
                    assert secret not in text
            assert browser.console == []  # the pages' own JavaScript logged no error
    finally:
        assert await daemon.stop(signal.SIGTERM) == 0


async def test_no_cookie_or_a_wrong_csrf_token_changes_nothing(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique: Any) -> None:
    alpha = add_bot(emu, instances, "alpha", prefix="!", schema=unique("con_c"), database_url=database_url,
                    config_extra=ROOTLESS)
    schemas.append(alpha.schema)
    daemon, url = await start_daemon(emu, instances, tmp_path)
    try:
        await daemon.wait_running("alpha")
        identifies = emu.identify_count(alpha.token)
        base = url.rstrip("/")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/instance/alpha/restart", data={"csrf": "x"}) as answer:
                assert answer.status == 401
            async with http.get(f"{base}/metrics") as answer:
                assert answer.status == 401
            async with http.get(f"{base}/", headers={"accept": "text/html"}, allow_redirects=False) as answer:
                assert answer.status == 303 and answer.headers["location"] == "/signin"
            async with http.get(f"{base}/", headers={"host": "attacker.example:80"}) as answer:
                assert answer.status == 421  # DNS rebinding: the Host must name this listener
            async with http.post(f"{base}/signin", data={"token": "wrong"}) as answer:
                assert answer.status == 401
            async with http.post(f"{base}/signin", data={"token": TOKEN}, allow_redirects=False) as answer:
                assert answer.status == 303
                signed_in = {"cookie": f"ds_console={answer.cookies['ds_console'].value}"}
            async with http.post(f"{base}/instance/alpha/restart", data={"csrf": "0" * 64},
                                 headers=signed_in) as answer:
                assert answer.status == 403
            async with http.post(f"{base}/instance/alpha/pause", headers=signed_in) as answer:
                assert answer.status == 403
            async with http.post(f"{base}/instance/alpha/restart", data={"csrf": "x" * 70_000},
                                 headers=signed_in) as answer:
                assert answer.status == 413
            async with http.get(f"{base}/metrics", headers={"authorization": f"Bearer {TOKEN}"}) as answer:
                assert answer.status == 200  # Prometheus: the token as a bearer
        assert emu.identify_count(alpha.token) == identifies and emu.connected(alpha.token)
        assert not daemon.find(lambda e: e.get("event") == "console_action")
    finally:
        assert await daemon.stop(signal.SIGTERM) == 0


def logged(text: str, event: str) -> int:
    """How many of the page's log lines are `event` (a line: timestamp, level, event, fields)."""
    return sum(line.split()[2:3] == [event] for line in text.splitlines())


async def test_the_instance_page_follows_its_state_and_log_lines_without_a_reload(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique: Any) -> None:
    alpha = add_bot(emu, instances, "alpha", prefix="!", schema=unique("con_l"), database_url=database_url,
                    config_extra=ROOTLESS)
    schemas.append(alpha.schema)
    daemon, url = await start_daemon(emu, instances, tmp_path)
    env = alpha.folder / ".env"
    good = env.read_text()
    try:
        await daemon.wait_running("alpha")
        async with chromium() as browser:
            page = await browser.page()
            await page.goto(f"{url}signin")
            await page.fill("#token", TOKEN)
            await page.click("#signin")
            await page.wait_for_selector("#fleet")
            pages = [page, await browser.page()]  # two pages on the same instance: each sees every line once
            for each in pages:
                await each.goto(f"{url}instance/alpha")
                await each.wait_for_selector("#live.on")
                await each.wait_for_selector("body[data-updates]")  # its feed's first send
                assert await each.text_content("#state") == "running"
                assert logged(await each.text_content("#logs"), "instance_failed") == 0
                await each.evaluate("window.notReloaded = true")

            # Discord refuses its new token: the open pages turn to failed, with the error and the log lines.
            save(env, good.replace(alpha.token, fake_token("nobody")))
            failed = await daemon.wait_log(lambda e: e.get("event") == "instance_failed"
                                           and e.get("instance") == "alpha")
            failed_at = dt.datetime.fromisoformat(failed["timestamp"]).timestamp()
            for each in pages:
                await each.wait_for_selector("#state.s-failed", timeout=20_000)  # (the page's CSP: no eval)
                # pushed at once (not at the feed's next 5 s refresh): within 2 s by the daemon's and the page's
                # clocks, as the fleet table's rows
                learnt_at = int(await each.get_attribute("#state", "data-changed-at")) / 1000
                assert learnt_at - failed_at < 2.0, learnt_at - failed_at
                await eventually(lambda each=each: _shows(each, "instance_failed"), timeout=20)
                assert await each.is_visible("#last-error") and "401" in await each.text_content("#last-error-text")
                assert await each.text_content("#history tr:first-child td:nth-child(2)") == "failed"
                assert "401" in await each.text_content("#errors li:first-child")

            # The good token back: the instance runs again, and the pages say so, with the new lines after the old.
            mark = daemon.book.mark()
            save(env, good)
            await daemon.wait_running("alpha", start=mark)
            for each in pages:
                await each.wait_for_selector("#state.s-running", timeout=20_000)
                await eventually(lambda each=each: _running_after_failure(each), timeout=20)
                text = await each.text_content("#logs")
                lines = text.splitlines()
                assert logged(text, "instance_failed") == daemon.count(
                    lambda e: e.get("event") == "instance_failed" and e.get("instance") == "alpha")
                assert len(lines) == len(set(lines))  # no line twice
                assert await each.text_content("#log-count") == str(len(lines))
                # the latency sparkline follows too (a sample every 5 s while it runs; two make a line)
                await each.wait_for_selector("#spark:not([hidden])", timeout=30_000)
                assert len((await each.get_attribute("#spark-line", "points")).split()) >= 2
                assert await each.evaluate("window.notReloaded === true")
            assert browser.console == []  # the page's own JavaScript logged no error
    finally:
        assert await daemon.stop(signal.SIGTERM) == 0


async def _running_after_failure(page: Any) -> bool:
    lines = (await page.text_content("#logs")).splitlines()
    events = [line.split()[2] for line in lines if len(line.split()) > 2]
    return "instance_failed" in events and "instance_running" in events[events.index("instance_failed"):]


async def _shows(page: Any, event: str) -> bool:
    return logged(await page.text_content("#logs"), event) > 0


async def shown_hosts(url: str) -> tuple[dict[str, str], dict[str, float]]:
    """(instance -> its fleet row's host, host -> lease_holders on /metrics) of one daemon (no token: loopback)."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as answer:
            html = await answer.text()
        async with http.get(f"{url}metrics") as answer:
            metrics = await answer.text()
    rows = {m[1]: m[2] for m in re.finditer(r'<tr id="i-([^"]+)"[^\n]*<td>([^<]*)</td></tr>', html)}
    leases = {sample.labels["host"]: sample.value for family in text_string_to_metric_families(metrics)
              for sample in family.samples if sample.name == "discord_supervisor_lease_holders"}
    return rows, leases


@pytest.mark.slow
async def test_each_daemon_shows_the_host_and_pid_of_the_daemon_that_runs_each_instance(
        emu: Emulator, tmp_path: Path, database_url: str, schemas: list[str], unique: Any) -> None:
    hosts = make_hosts(emu, tmp_path, database_url, unique, schemas, 4)
    try:
        daemons = [await hosts.add_daemon(extra_args=("--http-listen", "127.0.0.1:0")).start() for _ in range(2)]
        placed = await hosts.wait_settled(daemons)
        assert all(any(on == [index] for on in placed.values()) for index in (0, 1))  # each runs some
        urls = [(await daemon.wait_log(lambda e: e.get("event") == "http_listening"))["url"] for daemon in daemons]
        here, pids = socket.gethostname(), [daemon.process.pid for daemon in daemons if daemon.process]
        expected = {bot: f"{here} (pid {pids[on[0]]})" for bot, on in placed.items()}
        seen: list[tuple[dict[str, str], dict[str, float]]] = []

        async def every_daemon_shows_where_each_runs() -> bool:
            seen[:] = [await shown_hosts(url) for url in urls]  # the others' rows follow within a lease poll
            return all(rows == expected and leases == {here: 4.0} for rows, leases in seen)

        try:
            await eventually(every_daemon_shows_where_each_runs, timeout=30)
        except AssertionError:
            raise AssertionError(f"expected {expected}, shown {seen}") from None
    finally:
        await hosts.stop_all()
