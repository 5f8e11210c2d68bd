"""A local stand-in for the NYT's Wordle and Connections endpoints, with puzzles of our own invention.

Serves `/svc/wordle/v2/<YYYY-MM-DD>.json` and `/svc/connections/v2/<YYYY-MM-DD>.json` for every day of each
archive up to tomorrow (404 otherwise), shaped like the real answers. The sandbox plays offline on it; tests use it
too, and can make it fail (`mode`: "ok", "500", "timeout", "garbage").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from supervisor.sandbox.standin import serve_loopback

WORDLE_FIRST = dt.date(2021, 6, 19)
CONNECTIONS_FIRST = dt.date(2023, 6, 12)

# Every one of them is in features/games/words.txt.
WORDLE_SOLUTIONS = ("crane", "pluck", "grove", "mirth", "shale", "blimp", "quart", "fjord")

# Four groups each, easiest (yellow) first, as the NYT lists them.
CONNECTIONS_PUZZLES: tuple[tuple[tuple[str, tuple[str, str, str, str]], ...], ...] = (
    (("TREES", ("OAK", "ELM", "ASH", "YEW")),
     ("CARD GAMES", ("SNAP", "RUMMY", "POKER", "BRIDGE")),
     ("PARTS OF A SHOE", ("SOLE", "HEEL", "TONGUE", "LACE")),
     ("___FISH", ("STAR", "SWORD", "CAT", "JELLY"))),
    (("PLANETS", ("MARS", "VENUS", "EARTH", "SATURN")),
     ("CHESS PIECES", ("KING", "QUEEN", "BISHOP", "ROOK")),
     ("COFFEE DRINKS", ("LATTE", "MOCHA", "ESPRESSO", "CORTADO")),
     ("THINGS WITH KEYS", ("PIANO", "MAP", "TYPEWRITER", "JAILER"))),
    (("SHADES OF BLUE", ("NAVY", "TEAL", "AZURE", "COBALT")),
     ("PASTA SHAPES", ("PENNE", "FUSILLI", "ORZO", "RIGATONI")),
     ("DOG BREEDS", ("BOXER", "POODLE", "BEAGLE", "COLLIE")),
     ("___BOARD", ("SKATE", "CLIP", "DASH", "CUP"))),
)


@dataclass
class NytStandIn:
    mode: str = "ok"
    requests: list[str] = field(default_factory=list)  # the paths asked, oldest first
    url: str = ""
    _runner: web.AppRunner | None = None

    # -- the puzzles ---------------------------------------------------------------------------------
    @staticmethod
    def wordle_solution(date: dt.date) -> str:
        return WORDLE_SOLUTIONS[date.toordinal() % len(WORDLE_SOLUTIONS)]

    @staticmethod
    def connections_groups(date: dt.date) -> tuple[tuple[str, tuple[str, str, str, str]], ...]:
        return CONNECTIONS_PUZZLES[date.toordinal() % len(CONNECTIONS_PUZZLES)]

    @staticmethod
    def _date(text: str, first: dt.date) -> dt.date | None:
        try:
            date = dt.date.fromisoformat(text.removesuffix(".json"))
        except ValueError:
            return None
        tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        return date if first <= date <= tomorrow and text.endswith(".json") else None

    def _wordle(self, date: dt.date) -> dict[str, Any]:
        return {"id": date.toordinal(), "solution": self.wordle_solution(date), "print_date": date.isoformat(),
                "days_since_launch": (date - WORDLE_FIRST).days, "editor": "Sandbox"}

    def _connections(self, date: dt.date) -> dict[str, Any]:
        groups = self.connections_groups(date)
        return {"status": "OK", "id": date.toordinal(), "print_date": date.isoformat(), "editor": "Sandbox",
                "categories": [{"title": title, "cards": [{"content": word, "position": 4 * i + j}
                                                          for j, word in enumerate(words)]}
                               for i, (title, words) in enumerate(groups)]}

    # -- serving -------------------------------------------------------------------------------------
    async def _answer(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        if self.mode == "500":
            return web.Response(status=500, text="Internal Server Error")
        if self.mode == "timeout":
            await asyncio.sleep(60)
        if self.mode == "garbage":
            return web.Response(text="<html>not json</html>", content_type="application/json")
        game, day = request.match_info["game"], request.match_info["day"]
        date = self._date(day, WORDLE_FIRST if game == "wordle" else CONNECTIONS_FIRST)
        if date is None:
            return web.json_response({"status": "ERROR", "errors": ["Not Found"]}, status=404)
        body = self._wordle(date) if game == "wordle" else self._connections(date)
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get(r"/svc/{game:wordle|connections}/v2/{day}", self._answer)
        self._runner, self.url = await serve_loopback(app, shutdown_timeout=0.5)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
