"""One daemon's picture of the fleet on one database, read from the fleet tables, and the placement it implies.

Every daemon computes the same thing from the same rows:
- each daemon's fair share (cap) of the instances: their number times its capacity over the sum of capacities
  of the daemons that are up and neither draining nor --standby, rounded up;
- a daemon holding more than its cap hands one instance at a time to the daemon under its cap that ranks
  highest for it by weighted rendezvous hashing (supervisor/hosts/placement.py); a free instance is taken by
  that same daemon. A join therefore moves exactly the newcomer's share and nothing between the others;
- an instance only one daemon has runs there, whatever its cap; a draining daemon's cap is 0, a --standby
  daemon takes an instance only when no other kind of daemon has it.
The advisory lock stays the arbiter: two daemons whose pictures differ for a moment never both run a bot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

from supervisor.hosts.holder import Identity
from supervisor.hosts.placement import Candidate, score

NOT_OFFERED = {"failed", "invalid", "stopped"}  # a daemon whose copy is in one of these states does not compete
ORPHAN_GRACE = 10.0  # an instance free this long is taken by any daemon that has it, placed there or not
ACTIVE, STANDBY, DRAINING = 0, 1, 2


@dataclass(frozen=True)
class Me:
    identity: Identity
    capacity: float
    draining: bool
    standby: bool


@dataclass
class FleetView:
    daemons: dict[str, Candidate] = field(default_factory=dict)  # daemons that are up, by id
    tiers: dict[str, int] = field(default_factory=dict)  # ACTIVE, STANDBY or DRAINING, by id
    rows: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)  # schema -> id -> (state, held)
    free_since: dict[str, float] = field(default_factory=dict)  # schema -> loop time first seen held by nobody up
    caps: dict[str, int] = field(default_factory=dict)
    loads: dict[str, int] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)  # schema -> node of a daemon not up whose row says it held it

    @classmethod
    def read(cls, me: Me, daemons: Iterable[asyncpg.Record], rows: Iterable[asyncpg.Record],
             previous: FleetView, now: float) -> FleetView:
        view = cls()
        gone: dict[str, str] = {}
        for row in daemons:
            if not row["live"] and row["id"] != me.identity.daemon_id:
                gone[row["id"]] = row["node"]
                continue
            mine = row["id"] == me.identity.daemon_id
            draining, standby = (me.draining, me.standby) if mine else (row["draining"], row["standby"])
            capacity = me.capacity if mine else row["capacity"]
            view.daemons[row["id"]] = Candidate(row["node"], row["id"], row["host"], row["pid"], capacity)
            view.tiers[row["id"]] = DRAINING if draining else (STANDBY if standby else ACTIVE)
        for row in rows:
            view.rows.setdefault(row["schema_name"], {})[row["daemon"]] = (row["state"], row["held"])
            if row["held"] and row["daemon"] in gone:
                view.lost[row["schema_name"]] = gone[row["daemon"]]
        view._count(previous, now)
        return view

    def _count(self, previous: FleetView, now: float) -> None:
        offered = 0
        self.loads = dict.fromkeys(self.daemons, 0)
        for schema, by_daemon in self.rows.items():
            live = {d: entry for d, entry in by_daemon.items() if d in self.daemons}
            if any(state not in NOT_OFFERED for state, _ in live.values()):
                offered += 1
            holders = [d for d, (_, held) in live.items() if held]
            for daemon_id in holders:
                self.loads[daemon_id] += 1
            if not holders:
                self.free_since[schema] = previous.free_since.get(schema, now)
        active = {d: c.capacity for d, c in self.daemons.items() if self.tiers[d] == ACTIVE and c.capacity > 0}
        total = sum(active.values())
        self.caps = {d: math.ceil(offered * weight / total) if total else 0 for d, weight in active.items()}

    # -- questions -------------------------------------------------------------------------------------
    def _candidates(self, schema: str) -> dict[int, list[Candidate]]:
        tiers: dict[int, list[Candidate]] = {}
        for daemon_id, (state, _held) in self.rows.get(schema, {}).items():
            if daemon_id in self.daemons and state not in NOT_OFFERED:
                tiers.setdefault(self.tiers[daemon_id], []).append(self.daemons[daemon_id])
        return tiers

    def holders(self, schema: str, me: Me) -> list[Candidate]:
        """The other daemons, up, that say they hold it."""
        return [self.daemons[d] for d, (_, held) in self.rows.get(schema, {}).items()
                if held and d in self.daemons and d != me.identity.daemon_id]

    def receiver(self, schema: str, exclude: str | None = None) -> Candidate | None:
        """Where a free instance goes: the best-ranked daemon of the best tier that has it and is under its cap
        (an ACTIVE one), or the best-ranked of that tier when none is under its cap."""
        tiers = self._candidates(schema)
        if not tiers:
            return None
        best_tier = min(tiers)
        group = [c for c in tiers[best_tier] if c.daemon_id != exclude]
        if best_tier == ACTIVE:
            under = [c for c in group if self.loads.get(c.daemon_id, 0) < self.caps.get(c.daemon_id, 0)]
            group = under or ([] if exclude else group)
        return max(group, key=lambda c: (score(schema, c.node, c.capacity), c.node), default=None)

    def may_take(self, schema: str, me: Me, now: float) -> Candidate | None:
        """None when this daemon should try the lock now; else the daemon it is placed on."""
        placed = self.receiver(schema)
        if placed is None or placed.daemon_id == me.identity.daemon_id:
            return None
        mine_offered = me.identity.daemon_id in self.rows.get(schema, {})
        if mine_offered and now - self.free_since.get(schema, now) > ORPHAN_GRACE and not me.draining:
            return None  # free for a while and the daemon it is placed on does not take it: do not leave it down
        return placed

    def over(self, me: Me) -> bool:
        """Whether this daemon has instances to hand over: over its cap, draining, or --standby."""
        mine = me.identity.daemon_id
        tier = self.tiers.get(mine, ACTIVE)
        return tier != ACTIVE or self.loads.get(mine, 0) > self.caps.get(mine, 0)

    def handoff(self, held: Iterable[str], me: Me) -> tuple[str, Candidate] | None:
        """Over its cap (or draining, or --standby while an ACTIVE daemon has it): which instance to hand to whom."""
        mine = me.identity.daemon_id
        tier = self.tiers.get(mine, ACTIVE)
        if not self.over(me):
            return None
        best: tuple[float, str, Candidate] | None = None
        for schema in held:
            target = self.receiver(schema, exclude=mine)
            if target is None or self.tiers[target.daemon_id] > tier or (
                    tier == ACTIVE and self.loads.get(target.daemon_id, 0) >= self.caps.get(target.daemon_id, 0)):
                continue
            key = (score(schema, target.node, target.capacity), schema, target)
            if best is None or key[:2] > best[:2]:
                best = key
        return None if best is None else (best[1], best[2])

    def others_can_take(self, schema: str, me: Me) -> bool:
        return any(tier != DRAINING and any(c.daemon_id != me.identity.daemon_id for c in group)
                   for tier, group in self._candidates(schema).items())

    def others_have(self, schema: str, daemon_id: str) -> bool:
        """Whether another daemon that is up has this instance (and so could take it over)."""
        return any(d != daemon_id and d in self.daemons for d in self.rows.get(schema, {}))

    def note(self, schema: str, daemon_id: str, held: bool) -> None:
        """This daemon took or gave up a lease since the last read: count it at once (a start-up takes many)."""
        state, was = self.rows.setdefault(schema, {}).get(daemon_id, ("starting", False))
        if was != held and daemon_id in self.loads:
            self.loads[daemon_id] += 1 if held else -1
        self.rows[schema][daemon_id] = (state, held)

    def runs_on(self, schema: str, daemon_id: str) -> bool:
        """Whether that daemon holds the lease and says the bot is running."""
        return self.rows.get(schema, {}).get(daemon_id, ("", False)) == ("running", True)
