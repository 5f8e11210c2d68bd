"""One Connections game: 16 words, pick 4, four mistakes allowed; anyone in the channel may play."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

from .nyt import Category, Connections

MAX_MISTAKES = 4
EMOJI = ("🟨", "🟩", "🟦", "🟪")


class Outcome(Enum):
    SOLVED = "solved"
    ONE_AWAY = "one_away"
    WRONG = "wrong"


@dataclass
class ConnectionsGame:
    puzzle: Connections
    channel_id: int
    message_id: int = 0
    last_action: float = 0.0
    board: list[str] = field(default_factory=list)  # the unsolved words, in the order the buttons show them
    selected: list[str] = field(default_factory=list)
    solved: list[Category] = field(default_factory=list)
    mistakes_left: int = MAX_MISTAKES
    status: str | None = None  # the last guess's line under the board

    def __post_init__(self) -> None:
        if not self.board:
            self.board = [w for c in self.puzzle.categories for w in c.words]
            random.shuffle(self.board)

    def toggle(self, index: int) -> None:
        """Select or unselect the word on button `index`; a fifth selection is ignored."""
        if not 0 <= index < len(self.board):
            return
        word = self.board[index]
        if word in self.selected:
            self.selected.remove(word)
        elif len(self.selected) < 4:
            self.selected.append(word)

    def deselect(self) -> None:
        self.selected.clear()
        self.status = None

    def shuffle(self) -> None:
        random.shuffle(self.board)
        self.selected.clear()
        self.status = None

    def submit(self) -> tuple[Outcome, Category | None]:
        """Judge the four selected words (the caller checked there are four)."""
        chosen = set(self.selected)
        self.selected.clear()
        unsolved = [c for c in self.puzzle.categories if c not in self.solved]
        for category in unsolved:
            if chosen == set(category.words):
                self.solved.append(category)
                self.board = [w for w in self.board if w not in chosen]
                return Outcome.SOLVED, category
        self.mistakes_left = max(0, self.mistakes_left - 1)
        if any(len(chosen & set(c.words)) == 3 for c in unsolved):
            return Outcome.ONE_AWAY, None
        return Outcome.WRONG, None

    @property
    def won(self) -> bool:
        return len(self.solved) == len(self.puzzle.categories)

    @property
    def over(self) -> bool:
        return self.won or self.mistakes_left == 0
