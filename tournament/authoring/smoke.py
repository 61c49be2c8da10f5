"""Smoke matches: the candidate plays short seeded matches against built-ins, as it would in a tournament.

The candidate always sits in seat A. A smoke match stops asking the candidate for moves after its first
forfeit: the check has failed by then, and a component that burns its whole fuel budget every round
would otherwise cost seconds per match.
"""

from __future__ import annotations

from dataclasses import dataclass

from tournament.authoring.builtins import BuiltinStrategy
from tournament.orchestration.match import MatchPlayed, Player, play_match
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import Game, get_game
from tournament.rules.records import RoundRecord
from tournament.rules.seeds import derive_seed, opponent_id
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import LogBuffer, MoveResult, PlayerSetup
from tournament.sandbox.runtime import SandboxRuntime

CANDIDATE = "candidate"
"""The name the opponents are told about (through an opaque id) and seeds derive from."""


@dataclass(frozen=True, slots=True)
class SmokeMatch:
    game: str
    opponent: BuiltinStrategy
    played: MatchPlayed

    @property
    def moves(self) -> tuple[int | None, ...]:
        """The candidate's transcript: what determinism compares."""
        return tuple(record.move_a for record in self.played.rounds)

    @property
    def fuel(self) -> list[int]:
        """Fuel of each move the candidate made without forfeiting."""
        return [record.fuel_a for record in self.played.rounds if record.forfeit_a is None]

    def failure(self) -> str | None:
        """`vs rotate (rps): trap at round 12: wasm ...`, or None when the candidate never forfeited."""
        first = next((record for record in self.played.rounds if record.forfeit_a is not None), None)
        if first is None or first.forfeit_a is None:
            return None
        forfeit = self.played.first_forfeit_a
        where = f"vs {self.opponent.name} ({self.game}): {first.forfeit_a} at round {first.index}"
        return f"{where}: {forfeit.detail}" if forfeit is not None and forfeit.detail else where


class SmokeArena:
    """Plays smoke matches for one candidate with one runtime, under one set of limits."""

    def __init__(
        self, runtime: SandboxRuntime, candidate: str, limits: SandboxLimits, *, allow_wasi: bool
    ) -> None:
        self._runtime = runtime
        self._candidate = candidate
        self._limits = limits
        self._allow_wasi = allow_wasi

    def play(self, game_name: str, opponent: BuiltinStrategy, rounds: int) -> SmokeMatch:
        """One seeded match; the seed depends only on the game and the opponent, so a replay is exact."""
        game = get_game(game_name)
        opponent_digest = content_hash(data := opponent.read())
        self._runtime.prepare(data, opponent_digest)
        seed = derive_seed("smoke", game_name, opponent.name)
        candidate = self._runtime.player(
            self._candidate,
            self._setup(game, rounds, derive_seed(seed, "a"), opponent.name),
            self._limits,
            allow_wasi=self._allow_wasi,
        )
        builtin = self._runtime.player(
            opponent_digest, self._setup(game, rounds, derive_seed(seed, "b"), CANDIDATE), self._limits
        )
        played = play_match(game, StopAtFirstForfeit(candidate, game), builtin, rounds=rounds, seed=seed)
        return SmokeMatch(game_name, opponent, played)

    @staticmethod
    def _setup(game: Game, rounds: int, seed: int, opponent: str) -> PlayerSetup:
        return PlayerSetup(game.name, game.moves, rounds, seed, opponent_id(opponent))


class StopAtFirstForfeit:
    """A player that repeats its first forfeit instead of running the guest again (see module doc)."""

    def __init__(self, player: Player, game: Game) -> None:
        self._player = player
        self._game = game
        self._stopped: MoveResult | None = None
        self.logs: LogBuffer = player.logs

    def start(self) -> MoveResult | None:
        failure = self._player.start()
        if failure is not None and failure.forfeit is not None:
            self._stopped = failure
        return failure

    def next_move(self, last: RoundRecord | None) -> MoveResult:
        if self._stopped is not None:
            return MoveResult(None, self._stopped.forfeit, 0, self._stopped.detail)
        result = self._player.next_move(last)
        if result.forfeit is not None:
            self._stopped = result
        elif result.move is None or not self._game.is_legal(result.move):
            detail = f"move {result.move} is not one of 0..{self._game.n_moves - 1}"
            self._stopped = MoveResult(None, ForfeitReason.ILLEGAL_MOVE, 0, detail)
        return result

    def close(self) -> None:
        self._player.close()
