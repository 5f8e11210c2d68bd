"""web_search: DuckDuckGo's HTML endpoint by default; the supervisor option `search_url` points it elsewhere
(a self-hosted DuckDuckGo-compatible proxy, or a test stand-in). Results are read by the model, never shown."""

from __future__ import annotations

import html
import re
import urllib.parse

import aiohttp
from supervisor.sdk import FeatureContext, http_session

DEFAULT_SEARCH_URL = "https://html.duckduckgo.com/html/"
SEARCH_URL_OPTION = "search_url"
TIMEOUT_SECONDS = 10.0
MAX_RESULTS = 10
MAX_PAGE_BYTES = 2 * 1024 * 1024
NO_RESULTS = "No results found."
FAILED = "Search failed."

TOOL = {"type": "function", "function": {
    "name": "web_search", "description": "Search the web for current information.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "what to search"}},
                   "required": ["query"]}}}

_RESULT = re.compile(r'<a[^>]*class="result__a"[^>]*href="([^"]*)"[^>]*>(.*?)</a>(.*?)(?=<a[^>]*class="result__a"|$)',
                     re.DOTALL)
_SNIPPET = re.compile(r'class="result__snippet"[^>]*>(.*?)</(?:a|div|td)>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def _target(href: str) -> str:
    """DuckDuckGo wraps result links as //duckduckgo.com/l/?uddg=<url>."""
    href = html.unescape(href)
    query = urllib.parse.urlparse(href).query
    wrapped = urllib.parse.parse_qs(query).get("uddg")
    return wrapped[0] if wrapped else href


def parse_results(page: str) -> list[str]:
    results = []
    for match in _RESULT.finditer(page):
        snippet = _SNIPPET.search(match.group(3))
        results.append("\n".join(part for part in (_text(match.group(2)), _target(match.group(1)),
                                                   _text(snippet.group(1)) if snippet else "") if part))
        if len(results) == MAX_RESULTS:
            break
    return results


async def web_search(ctx: FeatureContext, query: str) -> str:
    url = ctx.supervisor_setting(SEARCH_URL_OPTION) or DEFAULT_SEARCH_URL
    session = await http_session(ctx)  # the process's one pool
    try:
        async with session.post(url, data={"q": query[:500]}, headers={"User-Agent": "Mozilla/5.0"},
                                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as response:
            if response.status != 200:
                ctx.log.info("web_search_failed", status=response.status)
                return FAILED
            page = (await response.content.read(MAX_PAGE_BYTES)).decode("utf-8", "replace")
    except (aiohttp.ClientError, TimeoutError) as error:
        ctx.log.info("web_search_failed", error=type(error).__name__)
        return FAILED
    results = parse_results(page)
    return "\n\n".join(results) if results else NO_RESULTS
