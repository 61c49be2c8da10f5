"""The match loop: ask both players for a move, check it, apply noise, score it with the pure rules."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import Game
from tournament.rules.records import RoundRecord
from tournament.rules.rounds import apply_noise, score_round
from tournament.rules.scoring import MatchScore, MatchTally
from tournament.rules.seeds import derive_seed
from tournament.sandbox.player import LogBuffer, MoveResult


class Player(Protocol):
    """What the match loop needs from a player; `WasmPlayer` is the real one."""

    logs: LogBuffer

    def start(self) -> MoveResult | None: ...

    def next_move(self, last: RoundRecord | None) -> MoveResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Forfeit:
    """The first forfeit of a player in a match, kept with the match result."""

    reason: ForfeitReason
    detail: str


@dataclass(frozen=True, slots=True)
class MatchPlayed:
    """Everything a played match produced, from player A's side."""

    rounds: tuple[RoundRecord, ...]
    score: MatchScore
    first_forfeit_a: Forfeit | None
    first_forfeit_b: Forfeit | None
    logs: tuple[tuple[str, int, str], ...]
    """(player "a" | "b", round, message) lines logged through the host `log` import."""


class ForfeitingPlayer:
    """A player that cannot play at all (its component was rejected): it forfeits every round."""

    def __init__(self, reason: ForfeitReason, detail: str) -> None:
        self._result = MoveResult(None, reason, 0, detail)
        self.logs = LogBuffer(0, 0)

    def start(self) -> MoveResult | None:
        return self._result

    def next_move(self, last: RoundRecord | None) -> MoveResult:
        return self._result

    def close(self) -> None:
        return None


def play_match(
    game: Game, player_a: Player, player_b: Player, *, rounds: int, seed: int, noise: float = 0.0
) -> MatchPlayed:
    """Play `rounds` rounds; noise draws from the match's own generator (from `seed`), never a player's."""
    rng = random.Random(derive_seed(seed, "noise"))
    tally = MatchTally()
    records: list[RoundRecord] = []
    first: dict[str, Forfeit | None] = {"a": None, "b": None}
    try:
        for side, player in (("a", player_a), ("b", player_b)):
            failure = player.start()
            if failure is not None and failure.forfeit is not None:
                first[side] = Forfeit(failure.forfeit, failure.detail)
        last_a: RoundRecord | None = None
        last_b: RoundRecord | None = None
        for index in range(rounds):
            result_a = player_a.next_move(last_a)
            result_b = player_b.next_move(last_b)
            move_a, forfeit_a, detail_a = _checked(game, result_a)
            move_b, forfeit_b, detail_b = _checked(game, result_b)
            noise_a = noise_b = False
            if noise > 0.0:
                if move_a is not None:
                    move_a, noise_a = apply_noise(game, move_a, rng, noise)
                if move_b is not None:
                    move_b, noise_b = apply_noise(game, move_b, rng, noise)
            payoff_a, payoff_b = score_round(game, move_a, move_b)
            record = RoundRecord(
                index=index,
                move_a=move_a,
                move_b=move_b,
                payoff_a=payoff_a,
                payoff_b=payoff_b,
                noise_a=noise_a,
                noise_b=noise_b,
                forfeit_a=forfeit_a,
                forfeit_b=forfeit_b,
                fuel_a=result_a.fuel,
                fuel_b=result_b.fuel,
            )
            if forfeit_a is not None and first["a"] is None:
                first["a"] = Forfeit(forfeit_a, detail_a)
            if forfeit_b is not None and first["b"] is None:
                first["b"] = Forfeit(forfeit_b, detail_b)
            tally.add(record)
            records.append(record)
            last_a, last_b = record, record.swapped()
    finally:
        player_a.close()
        player_b.close()
    logs = tuple(
        (side, round_index, message)
        for side, player in (("a", player_a), ("b", player_b))
        for round_index, message in player.logs.lines
    )
    return MatchPlayed(tuple(records), tally.score(game), first["a"], first["b"], logs)


def _checked(game: Game, result: MoveResult) -> tuple[int | None, ForfeitReason | None, str]:
    if result.forfeit is not None:
        return None, result.forfeit, result.detail
    if result.move is None or not game.is_legal(result.move):
        return None, ForfeitReason.ILLEGAL_MOVE, f"move {result.move} is not one of 0..{game.n_moves - 1}"
    return result.move, None, ""
