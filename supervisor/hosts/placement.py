"""Which daemon runs an instance: weighted rendezvous hashing, computed alike by every daemon.

Each candidate daemon gets a score for a schema from a hash of (schema, node) and its capacity; the highest
score wins. A daemon joining or leaving changes the winner only for the schemas it wins or won: about 1/N of
them, and nothing moves between the others.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    node: str  # stable across restarts of one daemon: the placement of a restarted daemon comes back to it
    daemon_id: str  # one process
    host: str
    pid: int
    capacity: float = 1.0


def score(schema: str, node: str, capacity: float) -> float:
    digest = hashlib.blake2b(f"{schema}\0{node}".encode(), digest_size=8).digest()
    unit = (int.from_bytes(digest, "big") + 0.5) / 2**64  # uniform in (0, 1)
    return -capacity / math.log(unit)


def owner(schema: str, candidates: Iterable[Candidate]) -> Candidate | None:
    best: tuple[float, str] | None = None
    chosen = None
    for candidate in candidates:
        if candidate.capacity <= 0:
            continue
        key = (score(schema, candidate.node, candidate.capacity), candidate.node)
        if best is None or key > best:
            best, chosen = key, candidate
    return chosen
