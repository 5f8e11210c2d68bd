"""One Wordle game: six guesses, two-pass scoring with single-use letters, a keyboard that only ever upgrades."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

MAX_GUESSES = 6


class Mark(IntEnum):
    """Ordered so a better mark compares greater: the keyboard keeps the best one seen."""

    ABSENT = 0
    PRESENT = 1
    CORRECT = 2

    @property
    def emoji(self) -> str:
        return ("⬛", "🟨", "🟩")[self]


def score(guess: str, solution: str) -> tuple[Mark, ...]:
    """Exact letters first; then each remaining solution letter marks at most one misplaced guess letter."""
    marks = [Mark.ABSENT] * len(guess)
    unused: dict[str, int] = {}
    for index, (mine, theirs) in enumerate(zip(guess, solution, strict=True)):
        if mine == theirs:
            marks[index] = Mark.CORRECT
        else:
            unused[theirs] = unused.get(theirs, 0) + 1
    for index, mine in enumerate(guess):
        if marks[index] is Mark.ABSENT and unused.get(mine, 0) > 0:
            marks[index] = Mark.PRESENT
            unused[mine] -= 1
    return tuple(marks)


@dataclass
class WordleGame:
    solution: str
    date: str
    channel_id: int
    message_id: int = 0
    last_action: float = 0.0
    guesses: list[tuple[str, tuple[Mark, ...]]] = field(default_factory=list)

    def guess(self, word: str) -> None:
        word = word.lower()
        self.guesses.append((word, score(word, self.solution)))

    @property
    def won(self) -> bool:
        return bool(self.guesses) and self.guesses[-1][0] == self.solution

    @property
    def over(self) -> bool:
        return self.won or len(self.guesses) >= MAX_GUESSES

    def keyboard(self) -> dict[str, Mark]:
        best: dict[str, Mark] = {}
        for word, marks in self.guesses:
            for letter, mark in zip(word, marks, strict=True):
                best[letter] = max(best.get(letter, Mark.ABSENT), mark)
        return best
