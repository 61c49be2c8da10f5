"""The match loop: ask both players for a move, check it, apply noise, score it with the pure rules."""

from __future__ import annotations

import ctypes
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeGuard, runtime_checkable

from tournament.picklable import by_fields
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import Game
from tournament.rules.records import CleanRounds, RoundLog, RoundRecord, RoundRow
from tournament.rules.rounds import apply_noise, score_round
from tournament.rules.scoring import MatchScore, MatchTally
from tournament.rules.seeds import derive_seed
from tournament.sandbox import native
from tournament.sandbox.fastcall import Mover, MoveTuple, RoundKey
from tournament.sandbox.player import LogBuffer, MoveResult, NativeSeat


class Player(Protocol):
    """What the match loop needs from a player; `WasmPlayer` is the real one."""

    logs: LogBuffer

    def start(self) -> MoveResult | None: ...

    def next_move(self, last: RoundRecord | None) -> MoveResult: ...

    def close(self) -> None: ...


@runtime_checkable
class KeyedPlayer(Player, Protocol):
    """A player with the object-free hot path: `move` is `next_move` with keys and tuples."""

    def move(self, last: RoundKey | None) -> MoveTuple: ...


@dataclass(frozen=True, slots=True)
class Forfeit:
    """The first forfeit of a player in a match, kept with the match result."""

    reason: ForfeitReason
    detail: str


@by_fields
@dataclass(frozen=True, slots=True)
class MatchPlayed:
    """Everything a played match produced, from player A's side."""

    rounds: Sequence[RoundRecord]
    """A `RoundLog` (rows, read as records) when both players are `KeyedPlayer`s, else a tuple."""
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

    def move(self, last: RoundKey | None) -> MoveTuple:
        result = self._result
        return result.move, result.forfeit, result.fuel, result.detail

    def close(self) -> None:
        return None


def play_match(
    game: Game, player_a: Player, player_b: Player, *, rounds: int, seed: int, noise: float = 0.0
) -> MatchPlayed:
    """Play `rounds` rounds; noise draws from the match's own generator (from `seed`), never a player's."""
    if _keyed(player_a) and _keyed(player_b):
        return _play_keyed(game, player_a, player_b, rounds=rounds, seed=seed, noise=noise)
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


def _keyed(player: Player) -> TypeGuard[KeyedPlayer]:
    """`isinstance(player, KeyedPlayer)` without a runtime protocol check's cost (tens of microseconds)."""
    return callable(getattr(player, "move", None))


PayoffTable = dict[int | None, dict[int | None, tuple[int, int]]]
"""`score_round(game, a, b)` for every move and forfeit (None) of both players."""
CellTable = list[list[tuple[int, int, RoundKey, RoundKey]]]
"""Per pair of legal moves: both payoffs and the next round's `last` of each player."""


@dataclass(frozen=True, slots=True)
class NativeTables:
    """The native loop's view of a game's cells; a cell is `a * n_moves + b` (A played a, B played b)."""

    payoffs: ctypes.Array[ctypes.c_int32]
    """(A's payoff, B's payoff) per cell."""
    args_a: tuple[RoundKey | None, ...]
    """A's `last` per cell from its own side, then None (round 0): the arguments the loop passes A."""
    args_b: tuple[RoundKey | None, ...]
    """The same for B, indexed by B's own side's cell (`b * n_moves + a`)."""
    seen_a: list[RoundKey]
    """A's `last` after each cell."""
    seen_b: list[RoundKey]
    """B's `last` after each cell."""


_TABLES: dict[int, tuple[Game, PayoffTable, CellTable, NativeTables | None]] = {}
"""Per game (by identity; the game is kept so its id stays its own): the match loops' tables."""

INT32 = range(-(2**31), 2**31)


def _tables(game: Game) -> tuple[PayoffTable, CellTable, NativeTables | None]:
    """The match loops' tables for a game, made once by `score_round` itself."""
    kept = _TABLES.get(id(game))
    if kept is not None and kept[0] is game:
        return kept[1], kept[2], kept[3]
    n = game.n_moves
    cells: list[int | None] = [*range(n), None]
    payoffs = {a: {b: score_round(game, a, b) for b in cells} for a in cells}
    table: CellTable = [
        [(pa, pb, (a, b, pa, pb), (b, a, pb, pa)) for b in range(n) for pa, pb in [payoffs[a][b]]]
        for a in range(n)
    ]
    flat = [table[a][b] for a in range(n) for b in range(n)]
    natives = None
    # The contract's payoffs are s32: a game beyond that is left to the Python loops (and their errors).
    if n <= native.MAX_MOVES and all(pa in INT32 and pb in INT32 for pa, pb, _, _ in flat):
        natives = NativeTables(
            (ctypes.c_int32 * (2 * n * n))(*(p for pa, pb, _, _ in flat for p in (pa, pb))),
            (*(cell[2] for cell in flat), None),
            (*(table[their][mine][3] for mine in range(n) for their in range(n)), None),
            [cell[2] for cell in flat],
            [cell[3] for cell in flat],
        )
    if len(_TABLES) >= 64:
        _TABLES.clear()
    _TABLES[id(game)] = (game, payoffs, table, natives)
    return payoffs, table, natives


def _mover(player: KeyedPlayer) -> Mover | None:
    """The player's move function for the specialised loop (`WasmPlayer.mover`), if it has one."""
    get = getattr(player, "mover", None)
    return get() if callable(get) else None


def _seat(
    player: KeyedPlayer, keys: tuple[RoundKey | None, ...], round_cell: ctypes.c_int64
) -> NativeSeat | None:
    """The player's seat in the native loop (`WasmPlayer.native_seat`), if it has one."""
    get = getattr(player, "native_seat", None)
    return get(keys, round_cell) if callable(get) else None


NATIVE_CHUNK = 4096
"""Rounds per native call at most: bounds the output buffers of long matches."""

NativeRun = tuple[
    int, tuple[MoveTuple, MoveTuple] | None, RoundKey | None, RoundKey | None, tuple[int, int, int, int, int]
]
"""(rounds played, the stopping round's moves, both players' `last`, tallies): see `_play_native`."""


def _play_native(
    rounds_loop: native.Rounds,
    tables: NativeTables,
    n_moves: int,
    player_a: KeyedPlayer,
    player_b: KeyedPlayer,
    mover_b: Mover,
    rounds: int,
    clean: list[CleanRounds],
) -> NativeRun | None:
    """The specialised loop's clean rounds from round 0 in C (`tournament.sandbox.native`); None when
    either player has no native seat (the caller then plays them in Python).

    Appends each chunk's clean rounds to `clean` as the loop's columns (no tuple per round: storage
    packs the columns as they are), brings both players' `seen` up to date, and returns the move tuples
    of the round that stopped the run (if any) as the Python loop would have made them: A's call failed
    (B is then asked here, through its move function, as the Python loop does), or either move was
    illegal, or B's call failed. Tallies: (total_a, total_b, wins_a, wins_b, draws) of the clean rounds.
    """
    round_cell = ctypes.c_int64(0)
    seat_a = _seat(player_a, tables.args_a, round_cell)
    if seat_a is None:
        return None
    seat_b = _seat(player_b, tables.args_b, round_cell)
    if seat_b is None:
        seat_a.release()
        return None
    size = min(rounds, NATIVE_CHUNK)
    move_a, move_b = array("I", bytes(4 * size)), array("I", bytes(4 * size))
    payoff_a, payoff_b = array("q", bytes(8 * size)), array("q", bytes(8 * size))
    fuel_a, fuel_b = array("Q", bytes(8 * size)), array("Q", bytes(8 * size))
    cells = array("I", bytes(4 * size))
    tally = array("q", bytes(8 * 5))
    buffers = (move_a, move_b, payoff_a, payoff_b, fuel_a, fuel_b, cells, tally)
    out = native.Out(*(buffer.buffer_info()[0] for buffer in buffers), ctypes.addressof(round_cell))
    side_a, side_b = seat_a.side, seat_b.side
    seen_a, seen_b = tables.seen_a, tables.seen_b
    index = 0
    last_cell = -1
    stopped = False
    try:
        while index < rounds and not stopped:
            count = min(size, rounds - index)
            played = rounds_loop.play(side_a, side_b, n_moves, ctypes.addressof(tables.payoffs), index, count,
                                      last_cell, out)  # fmt: skip
            stopped = played < count
            if played:
                clean.append(
                    CleanRounds(
                        index, move_a[:played], move_b[:played], payoff_a[:played], payoff_b[:played],
                        fuel_a[:played], fuel_b[:played],
                    )
                )  # fmt: skip
            # Each call's `last` is the previous round's cell: what the move functions append to `seen`.
            lasts = cells[:played]
            if last_cell >= 0:
                lasts.insert(0, last_cell)
            calls_a = played + stopped
            calls_b = played + (stopped and side_b.called)
            seat_a.seen.extend(map(seen_a.__getitem__, lasts[: calls_a - (last_cell < 0)]))
            seat_b.seen.extend(map(seen_b.__getitem__, lasts[: max(calls_b - (last_cell < 0), 0)]))
            if played:
                last_cell = cells[played - 1]
            index += played
    finally:
        seat_a.release()
        seat_b.release()
    last_a = None if last_cell < 0 else seen_a[last_cell]
    last_b = None if last_cell < 0 else seen_b[last_cell]
    pending = None
    if stopped:
        result_a = seat_a.outcome()
        result_b = seat_b.outcome() if side_b.called else mover_b(last_b)
        pending = (result_a, result_b)
    total_a, total_b, wins_a, wins_b, draws = tally
    return index, pending, last_a, last_b, (total_a, total_b, wins_a, wins_b, draws)


def _play_keyed(
    game: Game, player_a: KeyedPlayer, player_b: KeyedPlayer, *, rounds: int, seed: int, noise: float
) -> MatchPlayed:
    """`play_match` on the object-free path: the same rules, rounds and results, without per-round objects.

    Payoffs come from a table filled once per game by `score_round` itself; legality is `_checked`'s
    (its full check runs whenever the quick one does not pass); noise is `apply_noise` with the same
    generator. Without noise, rounds start in a loop specialised for what almost every round is (two
    legal moves, no forfeit): it calls the players' move functions directly and takes each cell's
    payoffs and both players' next `last` from a table; the first round with anything else goes, with
    the moves already made, to the general loop, which plays the rest of the match. Where the native
    loop is available (`tournament.sandbox.native`) and both players offer it a seat, that specialised
    loop runs in C instead (`_play_native`), with the same hand-over.
    `tests/sandbox/test_match_paths.py` proves all paths give identical matches.
    """
    rng = random.Random(derive_seed(seed, "noise"))
    n_moves = game.n_moves
    payoffs, table, natives = _tables(game)
    rows: list[RoundRow] = []
    clean: list[CleanRounds] = []
    append = rows.append
    first_a: Forfeit | None = None
    first_b: Forfeit | None = None
    total_a = total_b = wins_a = wins_b = draws = forfeits_a = forfeits_b = 0
    last_a: RoundKey | None = None
    last_b: RoundKey | None = None
    index = 0
    pending: tuple[MoveTuple, MoveTuple] | None = None
    try:
        for side, player in (("a", player_a), ("b", player_b)):
            failure = player.start()
            if failure is not None and failure.forfeit is not None:
                if side == "a":
                    first_a = Forfeit(failure.forfeit, failure.detail)
                else:
                    first_b = Forfeit(failure.forfeit, failure.detail)
        mover_a = _mover(player_a) if noise == 0.0 else None
        mover_b = _mover(player_b) if mover_a is not None else None
        rounds_loop = native.rounds() if mover_b is not None and natives is not None and rounds > 0 else None
        run = None
        if rounds_loop is not None and natives is not None and mover_b is not None:
            run = _play_native(rounds_loop, natives, n_moves, player_a, player_b, mover_b, rounds, clean)
        if run is not None:
            index, pending, last_a, last_b, counts = run
            total_a, total_b, wins_a, wins_b, draws = counts
        elif mover_a is not None and mover_b is not None:
            for index in range(rounds):
                result_a = mover_a(last_a)
                result_b = mover_b(last_b)
                move_a, forfeit_a, fuel_a, _ = result_a
                move_b, forfeit_b, fuel_b, _ = result_b
                # A move function's move is an int >= 0 whenever it reports no forfeit.
                if (
                    forfeit_a is not None
                    or forfeit_b is not None
                    or move_a >= n_moves  # type: ignore[operator]
                    or move_b >= n_moves  # type: ignore[operator]
                ):
                    pending = (result_a, result_b)
                    break
                payoff_a, payoff_b, last_a, last_b = table[move_a][move_b]  # type: ignore[index]
                append((index, move_a, move_b, payoff_a, payoff_b, False, False, None, None, fuel_a, fuel_b))
                total_a += payoff_a
                total_b += payoff_b
                if payoff_a > payoff_b:
                    wins_a += 1
                elif payoff_b > payoff_a:
                    wins_b += 1
                else:
                    draws += 1
            else:
                index = rounds
        resume = index
        move_a_player = player_a.move
        move_b_player = player_b.move
        for index in range(resume, rounds):
            if pending is None:
                move_a, forfeit_a, fuel_a, detail_a = move_a_player(last_a)
                move_b, forfeit_b, fuel_b, detail_b = move_b_player(last_b)
            else:
                (move_a, forfeit_a, fuel_a, detail_a), (move_b, forfeit_b, fuel_b, detail_b) = pending
                pending = None
            if forfeit_a is not None:
                move_a = None
            elif move_a.__class__ is not int or not 0 <= move_a < n_moves:
                move_a, forfeit_a, detail_a = _checked(game, MoveResult(move_a, None, fuel_a, detail_a))
            if forfeit_b is not None:
                move_b = None
            elif move_b.__class__ is not int or not 0 <= move_b < n_moves:
                move_b, forfeit_b, detail_b = _checked(game, MoveResult(move_b, None, fuel_b, detail_b))
            noise_a = noise_b = False
            if noise > 0.0:
                if move_a is not None:
                    move_a, noise_a = apply_noise(game, move_a, rng, noise)
                if move_b is not None:
                    move_b, noise_b = apply_noise(game, move_b, rng, noise)
            payoff_a, payoff_b = payoffs[move_a][move_b]
            append(
                (
                    index,
                    move_a,
                    move_b,
                    payoff_a,
                    payoff_b,
                    noise_a,
                    noise_b,
                    forfeit_a,
                    forfeit_b,
                    fuel_a,
                    fuel_b,
                )
            )
            total_a += payoff_a
            total_b += payoff_b
            if payoff_a > payoff_b:
                wins_a += 1
            elif payoff_b > payoff_a:
                wins_b += 1
            else:
                draws += 1
            if forfeit_a is not None:
                forfeits_a += 1
                if first_a is None:
                    first_a = Forfeit(forfeit_a, detail_a)
            if forfeit_b is not None:
                forfeits_b += 1
                if first_b is None:
                    first_b = Forfeit(forfeit_b, detail_b)
            last_a = (move_a, move_b, payoff_a, payoff_b)
            last_b = (move_b, move_a, payoff_b, payoff_a)
    finally:
        player_a.close()
        player_b.close()
    log = RoundLog(rows, clean)
    tally = MatchTally(len(log), total_a, total_b, wins_a, wins_b, draws, forfeits_a, forfeits_b)
    logs = tuple(
        (side, round_index, message)
        for side, player in (("a", player_a), ("b", player_b))
        for round_index, message in player.logs.lines
    )
    return MatchPlayed(log, tally.score(game), first_a, first_b, logs)
