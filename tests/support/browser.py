"""Headless Chromium for the console's browser tests: the distribution's package (/usr/bin/chromium, which
.ci/run installs), driven by Playwright's Python client; never a browser Playwright downloads itself."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Browser:
    context: Any  # playwright's BrowserContext
    console: list[str] = field(default_factory=list)  # errors the pages' own scripts logged or raised

    async def page(self) -> Any:
        page = await self.context.new_page()
        page.on("console", lambda message: message.type == "error" and self.console.append(message.text))
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))
        return page


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A fresh profile (its own --user-data-dir) in a headless Chromium, closed afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium; .ci/run does)")
    from playwright.async_api import async_playwright

    profile = tempfile.mkdtemp(prefix="console-chromium-")
    try:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS)
            try:
                yield Browser(context)
            finally:
                await context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
