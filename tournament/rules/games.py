"""Games as data: move labels plus a payoff table, so a new n x n game is a few lines, not a class."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from tournament.rules.errors import GameDefinitionError, IllegalMoveError, UnknownGameError


class Ranking(enum.StrEnum):
    """How standings order the strategies; set by the game because conventions differ per game."""

    MATCH_POINTS = "match-points"
    """Match points (2 win, 1 draw, 0 loss), then total payoff: the RoShamBo competitions' match ranking."""
    MEAN_PAYOFF = "mean-payoff"
    """Mean payoff per round, then total payoff: how the Axelrod library ranks prisoner's dilemma players."""


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True as a payoff or move is almost certainly a bug in the caller.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Game:
    """A two-player simultaneous-move game; validated on construction so the engine can trust it."""

    name: str
    """Registry key and what strategies are told they are playing."""
    moves: tuple[str, ...]
    """Move labels; a move is an index into this tuple."""
    payoffs: tuple[tuple[tuple[int, int], ...], ...]
    """``payoffs[a][b] == (payoff to A, payoff to B)`` when A plays ``a`` and B plays ``b``."""
    ranking: Ranking
    draw_band_z: float | None
    """z-score of the draw band on the difference of match totals; None: a draw only on equal totals."""
    description: str = ""
    _forfeit_payoffs: tuple[int, int] = field(init=False, repr=False, compare=False)
    """Cached `forfeit_payoffs` (the table never changes): scoring reads it every round."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise GameDefinitionError(f"game name must be a non-empty string, got {self.name!r}")
        where = f"game {self.name!r}"
        if not isinstance(self.moves, tuple) or len(self.moves) < 2:
            raise GameDefinitionError(
                f"{where}: moves must be a tuple of at least 2 labels, got {self.moves!r}"
            )
        for label in self.moves:
            if not isinstance(label, str) or not label:
                raise GameDefinitionError(f"{where}: move labels must be non-empty strings, got {label!r}")
        if len(set(self.moves)) != len(self.moves):
            raise GameDefinitionError(f"{where}: move labels must be unique, got {self.moves!r}")
        n = len(self.moves)
        if not isinstance(self.payoffs, tuple) or len(self.payoffs) != n:
            raise GameDefinitionError(f"{where}: payoffs must be a tuple of {n} rows (one per move)")
        for a, row in enumerate(self.payoffs):
            if not isinstance(row, tuple) or len(row) != n:
                raise GameDefinitionError(f"{where}: payoff row {a} must be a tuple of {n} cells")
            for b, cell in enumerate(row):
                if not (isinstance(cell, tuple) and len(cell) == 2 and all(_is_int(x) for x in cell)):
                    raise GameDefinitionError(
                        f"{where}: payoffs[{a}][{b}] must be a pair of ints (A, B), got {cell!r}"
                    )
        if not isinstance(self.ranking, Ranking):
            raise GameDefinitionError(f"{where}: ranking must be a Ranking, got {self.ranking!r}")
        z = self.draw_band_z
        if z is not None and (not isinstance(z, int | float) or isinstance(z, bool) or not 0 <= z < math.inf):
            raise GameDefinitionError(f"{where}: draw_band_z must be None or a finite number >= 0, got {z!r}")
        if not isinstance(self.description, str):
            raise GameDefinitionError(f"{where}: description must be a string")
        values = [x for row in self.payoffs for cell in row for x in cell]
        object.__setattr__(self, "_forfeit_payoffs", (min(values), max(values)))

    @property
    def n_moves(self) -> int:
        return len(self.moves)

    def is_legal(self, move: int) -> bool:
        """Whether ``move`` is a valid index; strategy output is untrusted, so anything else is False."""
        return _is_int(move) and 0 <= move < len(self.moves)

    def _check(self, move: int, who: str = "") -> None:
        if not self.is_legal(move):
            by = f" by {who}" if who else ""
            raise IllegalMoveError(
                f"illegal move {move!r}{by} in game {self.name!r} (legal: 0..{len(self.moves) - 1})"
            )

    def payoff(self, a: int, b: int) -> tuple[int, int]:
        """(payoff to A, payoff to B); raises IllegalMoveError so a bad index never wraps around."""
        self._check(a, "player A")
        self._check(b, "player B")
        return self.payoffs[a][b]

    def label(self, move: int) -> str:
        self._check(move)
        return self.moves[move]

    @property
    def forfeit_payoffs(self) -> tuple[int, int]:
        """(loser, winner) for a forfeited round: the table's worst and best, so forfeiting never pays."""
        return self._forfeit_payoffs

    def draw_margin(self, rounds: int) -> float:
        """Band on ``total_a - total_b`` within which a match is a draw.

        ``z * sqrt(rounds * Var(payoff_a - payoff_b))`` for two uniformly random players, so that luck
        between two random players counts as a draw (RPS, z=1.96, 1000 rounds: 101.2 on the difference of
        totals, i.e. the RoShamBo competitions' 50.6 on wins minus losses).
        """
        if rounds < 0:
            raise ValueError(f"rounds must be >= 0, got {rounds}")
        if self.draw_band_z is None:
            return 0.0
        diffs = [pa - pb for row in self.payoffs for pa, pb in row]
        mean = math.fsum(diffs) / len(diffs)
        variance = math.fsum((d - mean) ** 2 for d in diffs) / len(diffs)
        return self.draw_band_z * math.sqrt(rounds * variance)


def symmetric_game(
    name: str,
    moves: Sequence[str],
    table: Sequence[Sequence[int]],
    *,
    ranking: Ranking,
    draw_band_z: float | None,
    description: str = "",
) -> Game:
    """A symmetric game from the row player's table: A gets ``table[a][b]``, B gets ``table[b][a]``."""
    n = len(moves)
    if len(table) != n or any(len(row) != n for row in table):
        raise GameDefinitionError(f"game {name!r}: table must be {n} x {n} (one row and column per move)")
    payoffs = tuple(tuple((table[a][b], table[b][a]) for b in range(n)) for a in range(n))
    return Game(
        name=name,
        moves=tuple(moves),
        payoffs=payoffs,
        ranking=ranking,
        draw_band_z=draw_band_z,
        description=description,
    )


RPS = symmetric_game(
    "rps",
    ("rock", "paper", "scissors"),
    (
        # rock paper scissors  (row player's payoff)
        (0, -1, 1),  # rock
        (1, 0, -1),  # paper
        (-1, 1, 0),  # scissors
    ),
    ranking=Ranking.MATCH_POINTS,
    draw_band_z=1.96,
    description="Rock-paper-scissors: win +1, loss -1, tie 0; (m + 1) % 3 beats m.",
)

RPSLS = symmetric_game(
    "rpsls",
    ("rock", "paper", "scissors", "spock", "lizard"),
    (
        # rock paper scissors spock lizard  (i beats j iff (i - j) % 5 is odd)
        (0, -1, 1, -1, 1),  # rock
        (1, 0, -1, 1, -1),  # paper
        (-1, 1, 0, -1, 1),  # scissors
        (1, -1, 1, 0, -1),  # spock
        (-1, 1, -1, 1, 0),  # lizard
    ),
    ranking=Ranking.MATCH_POINTS,
    draw_band_z=1.96,
    description="Rock-paper-scissors-Spock-lizard: win +1, loss -1, tie 0; (m + 1) % 5 beats m.",
)

IPD = symmetric_game(
    "ipd",
    ("cooperate", "defect"),
    (
        (3, 0),  # cooperate: R, S
        (5, 1),  # defect: T, P
    ),
    ranking=Ranking.MEAN_PAYOFF,
    draw_band_z=None,
    description="Iterated prisoner's dilemma: R=3, S=0, T=5, P=1; ranked by mean payoff per round.",
)


def builtin_games() -> Mapping[str, Game]:
    """The games the engine ships, by name; built on call so importing has no registry side effects."""
    return MappingProxyType({game.name: game for game in (RPS, RPSLS, IPD)})


def get_game(name: str) -> Game:
    games = builtin_games()
    try:
        return games[name]
    except KeyError:
        known = ", ".join(sorted(games))
        raise UnknownGameError(f"unknown game {name!r} (known: {known})") from None
