"""Placement, as every daemon computes it from the fleet tables' rows: fair shares by capacity, a join moves
exactly the newcomer's share, a folder only one host has runs there, --standby and drain."""

from __future__ import annotations

from supervisor.hosts.holder import Identity
from supervisor.hosts.view import FleetView, Me


def ident(n: int) -> Identity:
    return Identity(daemon_id=f"d{n}", node=f"host{n}:/run/ds.sock", host=f"host{n}", pid=100 + n, started=0.0)


def me(n: int, *, draining: bool = False, standby: bool = False, capacity: float = 1.0) -> Me:
    return Me(ident(n), capacity, draining, standby)


class Fleet:
    """The rows of the two tables for daemons 0..n-1 and some schemas; who holds what."""

    def __init__(self, daemons: int, schemas: list[str]):
        self.daemons = list(range(daemons))
        self.schemas = schemas
        self.has: dict[int, set[str]] = {d: set(schemas) for d in self.daemons}
        self.held: dict[str, int] = {}
        self.flags: dict[int, dict[str, object]] = {d: {} for d in self.daemons}

    def view(self, n: int) -> FleetView:
        daemons = [{"id": f"d{d}", "node": ident(d).node, "host": f"host{d}", "pid": 100 + d,
                    "capacity": self.flags[d].get("capacity", 1.0), "draining": self.flags[d].get("draining", False),
                    "standby": self.flags[d].get("standby", False), "live": True} for d in self.daemons]
        rows = [{"daemon": f"d{d}", "schema_name": s, "state": "running" if self.held.get(s) == d else
                 "running elsewhere", "held": self.held.get(s) == d} for d in self.daemons for s in self.has[d]]
        flags = self.flags[n]
        mine = me(n, draining=bool(flags.get("draining")), standby=bool(flags.get("standby")),
                  capacity=float(flags.get("capacity", 1.0)))  # type: ignore[arg-type]
        return FleetView.read(mine, daemons, rows, FleetView(), 0.0)

    def me(self, n: int) -> Me:
        flags = self.flags[n]
        return me(n, draining=bool(flags.get("draining")), standby=bool(flags.get("standby")),
                  capacity=float(flags.get("capacity", 1.0)))  # type: ignore[arg-type]

    def settle(self) -> int:
        """Run every daemon's rules until nothing changes: free instances taken, one handoff each per round.
        Returns how many instances changed hands."""
        moves = 0
        for _ in range(500):
            changed = False
            for d in self.daemons:
                for schema in sorted(self.has[d]):
                    if schema not in self.held and self.view(d).may_take(schema, self.me(d), 0.0) is None:
                        self.held[schema] = d
                        changed = True
                choice = self.view(d).handoff([s for s, h in self.held.items() if h == d], self.me(d))
                if choice is not None:
                    del self.held[choice[0]]
                    moves += 1
                    changed = True
            if not changed:
                return moves
        raise AssertionError("placement never settled")

    def loads(self) -> list[int]:
        return [sum(1 for h in self.held.values() if h == d) for d in self.daemons]


SCHEMAS = [f"shop_{n}" for n in range(30)]


def test_three_daemons_joining_one_after_another_each_take_exactly_their_share() -> None:
    fleet = Fleet(1, SCHEMAS)
    assert fleet.settle() == 0 and fleet.loads() == [30]
    fleet.daemons.append(1)
    fleet.has[1], fleet.flags[1] = set(SCHEMAS), {}
    assert fleet.settle() == 15 and fleet.loads() == [15, 15]
    before = dict(fleet.held)
    fleet.daemons.append(2)
    fleet.has[2], fleet.flags[2] = set(SCHEMAS), {}
    assert fleet.settle() == 10 and fleet.loads() == [10, 10, 10]
    # nothing moved between the first two: every instance that changed hands went to the newcomer
    assert all(fleet.held[s] == 2 for s in SCHEMAS if fleet.held[s] != before[s])


def test_a_daemon_that_leaves_has_its_instances_spread_over_the_others() -> None:
    fleet = Fleet(3, SCHEMAS)
    fleet.settle()
    before = dict(fleet.held)
    fleet.daemons.remove(0)
    fleet.held = {s: d for s, d in fleet.held.items() if d != 0}
    fleet.settle()
    assert fleet.loads() == [15, 15]
    assert all(fleet.held[s] == before[s] for s in SCHEMAS if before[s] != 0)


def test_capacity_weights_the_shares() -> None:
    fleet = Fleet(3, [f"s{n}" for n in range(40)])
    fleet.flags[2] = {"capacity": 2.0}
    fleet.settle()
    assert fleet.loads() == [10, 10, 20]


def test_an_instance_only_one_host_has_runs_there_whatever_its_share() -> None:
    fleet = Fleet(2, SCHEMAS)
    fleet.has[0] = set(SCHEMAS) | {"only_here_1", "only_here_2"}
    fleet.settle()
    assert fleet.held["only_here_1"] == 0 and fleet.held["only_here_2"] == 0
    assert sum(fleet.loads()) == 32 and set(fleet.held) == set(SCHEMAS) | {"only_here_1", "only_here_2"}


def test_a_standby_daemon_takes_nothing_while_an_active_one_has_it_and_hands_it_back() -> None:
    fleet = Fleet(2, SCHEMAS)
    fleet.flags[1] = {"standby": True}
    fleet.held = dict.fromkeys(SCHEMAS, 1)  # the active one was down: the standby ran everything
    fleet.settle()
    assert fleet.loads() == [30, 0]


def test_a_draining_daemon_hands_everything_to_the_others_except_what_only_it_has() -> None:
    fleet = Fleet(3, SCHEMAS)
    fleet.has[0] = set(SCHEMAS) | {"only_here"}
    fleet.settle()
    fleet.flags[0] = {"draining": True}
    fleet.settle()
    assert fleet.loads() == [1, 15, 15] and fleet.held["only_here"] == 0
    view = fleet.view(0)
    assert not view.others_can_take("only_here", fleet.me(0)) and view.others_can_take(SCHEMAS[0], fleet.me(0))
