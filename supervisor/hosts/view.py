"""One daemon's picture of the fleet on one database, read from the fleet tables, and the placement it implies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

from supervisor.hosts.holder import Identity
from supervisor.hosts.placement import Candidate, owner

NOT_OFFERED = {"failed", "invalid", "stopped"}  # a daemon whose copy is in one of these states does not compete


@dataclass(frozen=True)
class Me:
    identity: Identity
    capacity: float
    draining: bool
    standby: bool


@dataclass
class FleetView:
    daemons: dict[str, asyncpg.Record] = field(default_factory=dict)  # live daemons by id
    offers: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)  # schema -> id -> (state, held)

    @classmethod
    def read(cls, daemons: Iterable[asyncpg.Record], offers: Iterable[asyncpg.Record]) -> FleetView:
        view = cls({row["id"]: row for row in daemons if row["live"]})
        for row in offers:
            view.offers.setdefault(row["schema_name"], {})[row["daemon"]] = (row["state"], row["held"])
        return view

    def _candidates(self, schema: str, me: Me, my_state: str | None) -> list[tuple[int, Candidate]]:
        tiered: list[tuple[int, Candidate]] = []
        for daemon_id, (state, _held) in self.offers.get(schema, {}).items():
            row = self.daemons.get(daemon_id)
            if row is None or daemon_id == me.identity.daemon_id or state in NOT_OFFERED:
                continue
            tier = 2 if row["draining"] else (1 if row["standby"] else 0)
            tiered.append((tier, Candidate(row["node"], daemon_id, row["host"], row["pid"], row["capacity"])))
        if my_state is not None and my_state not in NOT_OFFERED:
            mine = me.identity
            tier = 2 if me.draining else (1 if me.standby else 0)
            tiered.append((tier, Candidate(mine.node, mine.daemon_id, mine.host, mine.pid, me.capacity)))
        return tiered

    def owner(self, schema: str, me: Me, my_state: str | None) -> Candidate | None:
        """The daemon that should run `schema`: among the best tier present (not draining, not standby first)."""
        tiered = self._candidates(schema, me, my_state)
        if not tiered:
            return None
        best = min(tier for tier, _ in tiered)
        return owner(schema, [candidate for tier, candidate in tiered if tier == best])

    def others_can_take(self, schema: str, me: Me) -> bool:
        return any(tier < 2 for tier, _ in self._candidates(schema, me, None))

    def held_by(self, schema: str, daemon_id: str) -> bool:
        return self.offers.get(schema, {}).get(daemon_id, ("", False))[1]
