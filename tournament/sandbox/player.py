"""A strategy instance playing one match: one Store per (match, player), every failure made typed.

A trap poisons a Store, so an instance is never reused after one. Budget forfeits (fuel, timeout) lose
only that round: the player is restarted in a fresh Store before its next move, with the match's earlier
rounds appended to its history. Any other failure ends the player's part in the match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import wasmtime
from wasmtime.component import Component, Linker, Record

from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import RoundRecord
from tournament.sandbox import contract
from tournament.sandbox.artifacts import first_line
from tournament.sandbox.fastcall import (
    ComponentCalls,
    NextMoveCall,
    RoundKey,
    StockNextMoveCall,
    fast_path_available,
    next_move_call,
)
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.watchdog import EpochTicker


@dataclass(frozen=True, slots=True)
class PlayerSetup:
    """What a player is told at the start of a match (its side is always "a" in `history`)."""

    game: str
    moves: tuple[str, ...]
    rounds: int | None
    """None when the organizer hides the number of rounds."""
    seed: int
    opponent: int
    history: tuple[RoundRecord, ...] = ()


MoveTuple = tuple[int | None, ForfeitReason | None, int, str]
"""A `MoveResult`'s fields as a plain tuple: the match loop's hot path makes no objects."""


@dataclass(frozen=True, slots=True)
class MoveResult:
    """One move call's outcome: a raw move (not yet checked against the game) or a forfeit."""

    move: int | None
    forfeit: ForfeitReason | None = None
    fuel: int = 0
    detail: str = ""


@dataclass(slots=True)
class LogBuffer:
    """Lines a player logged through the host `log` import, capped in count and length."""

    max_lines: int
    max_bytes: int
    lines: list[tuple[int, str]] = field(default_factory=list)
    dropped: int = 0

    def add(self, round_index: int, message: str) -> None:
        if len(self.lines) >= self.max_lines:
            self.dropped += 1
            return
        encoded = message.encode("utf-8", "replace")[: self.max_bytes]
        self.lines.append((round_index, encoded.decode("utf-8", "ignore")))


def classify_failure(error: Exception) -> tuple[ForfeitReason, str]:
    """Map a wasmtime error to a forfeit reason and a one-line detail."""
    message = str(error)
    lower = message.lower()
    detail = first_line(message)
    if "all fuel consumed" in lower:
        return ForfeitReason.FUEL, "fuel budget exhausted"
    if "interrupt" in lower:
        return ForfeitReason.TIMEOUT, "wall-clock deadline exceeded"
    if "out of bounds memory access" in lower or (
        "memory" in lower and ("limit" in lower or "exceed" in lower)
    ):
        return ForfeitReason.MEMORY, _trap_detail(lower, detail)
    return ForfeitReason.TRAP, _trap_detail(lower, detail)


def _trap_detail(lower: str, fallback: str) -> str:
    for needle in (
        "call stack exhausted",
        "wasm `unreachable` instruction executed",
        "out of bounds memory access",
        "integer divide by zero",
        "indirect call",
        "cannot enter component instance",
    ):
        if needle in lower:
            return needle
    return fallback


def _record(**values: object) -> Record:
    record = Record()
    for name, value in values.items():
        setattr(record, name.replace("_", "-"), value)
    return record


def _key(record: RoundRecord) -> RoundKey:
    return (record.move_a, record.move_b, record.payoff_a, record.payoff_b)


def _round_result(key: RoundKey) -> Record:
    my_move, their_move, my_payoff, their_payoff = key
    return _record(my_move=my_move, their_move=their_move, my_payoff=my_payoff, their_payoff=their_payoff)


class WasmPlayer:
    """Drives one component instance through a match under the given limits."""

    def __init__(
        self,
        engine: wasmtime.Engine,
        component: Component,
        setup: PlayerSetup,
        limits: SandboxLimits,
        ticker: EpochTicker,
        *,
        allow_wasi: bool = False,
        fast: bool = True,
        calls: ComponentCalls | None = None,
    ) -> None:
        """`calls`: the component's shared call state (its runtime keeps one per component); without it
        the player keeps its own for the match."""
        self._engine = engine
        self._component = component
        self._setup = setup
        self._limits = limits
        self._ticker = ticker
        self._allow_wasi = allow_wasi
        self._setup_history = [_key(record) for record in setup.history]
        self._seen: list[RoundKey] = []
        """This match's rounds so far, as keys: the history a restarted instance is told."""
        self._store: wasmtime.Store | None = None
        self._call: NextMoveCall | StockNextMoveCall | None = None
        self._fast = fast and fast_path_available()
        self._owned_calls = ComponentCalls() if calls is None and self._fast else None
        self._calls = (calls or self._owned_calls) if self._fast else None
        self._needs_restart = False
        self._dead: ForfeitReason | None = None
        self._dead_detail = ""
        self.restarts = 0
        self._deadline = ticker.ticks_for(limits.timeout_ms)
        self._budget = limits.fuel_per_move
        self.logs = LogBuffer(limits.log_lines, limits.log_line_bytes)

    @property
    def dead(self) -> ForfeitReason | None:
        """The reason this player is out of the match, if it is."""
        return self._dead

    def start(self) -> MoveResult | None:
        """Instantiate and call `begin`; returns the failure, or None when the player is ready."""
        failure = self._instantiate(self._setup_history, first_round=0)
        if failure is not None:
            self._kill(failure)
        return failure

    def next_move(self, last: RoundRecord | None) -> MoveResult:
        """Ask for the move of the next round; `last` is the previous round from this player's side."""
        key = None if last is None else (last.move_a, last.move_b, last.payoff_a, last.payoff_b)
        move, forfeit, fuel, detail = self.move(key)
        return MoveResult(move, forfeit, fuel, detail)

    def move(self, last: RoundKey | None) -> MoveTuple:
        """`next_move` without objects: `last` as (my move, their move, my payoff, their payoff).

        The match loop's hot path; returns (move, forfeit, fuel, detail) like `MoveResult`'s fields.
        """
        if last is not None:
            self._seen.append(last)
        call = self._call
        if call is None:  # out of the match, restarting after a budget forfeit, or not started
            return self._move_without_instance()
        try:
            move, used = call(last, self._budget, self._deadline)
        except wasmtime.WasmtimeError as error:
            return self._failed(call, error)
        return move, None, used, ""

    def _move_without_instance(self) -> MoveTuple:
        if self._dead is not None:
            return None, self._dead, 0, self._dead_detail
        if not self._needs_restart:
            raise RuntimeError("next_move called before start")
        failure = self._restart()
        if failure is not None:
            return failure.move, failure.forfeit, failure.fuel, failure.detail
        return self.move(None)

    def _restart(self) -> MoveResult | None:
        """A fresh instance after a budget forfeit, told the whole match so far; the failure if any."""
        history = (*self._setup_history, *self._seen)
        failure = self._instantiate(history, first_round=len(self._seen))
        if failure is not None:
            self._kill(failure)
            return failure
        self._needs_restart = False
        self.restarts += 1
        return None

    def _failed(self, call: NextMoveCall | StockNextMoveCall, error: wasmtime.WasmtimeError) -> MoveTuple:
        reason, detail = classify_failure(error)
        used = self._budget - call.fuel_left()
        self._drop_instance()
        if reason in (ForfeitReason.FUEL, ForfeitReason.TIMEOUT):
            self._needs_restart = True
        else:
            self._kill(MoveResult(None, reason, used, detail))
        return None, reason, used, detail

    def close(self) -> None:
        self._drop_instance()
        if self._owned_calls is not None:
            self._owned_calls.close()

    def _drop_instance(self) -> None:
        if self._call is not None:
            self._call.close()
        self._store = self._call = None

    def _kill(self, failure: MoveResult) -> None:
        self._dead = failure.forfeit
        self._dead_detail = failure.detail
        self._drop_instance()

    def _instantiate(self, history: Sequence[RoundKey], first_round: int) -> MoveResult | None:
        limits = self._limits
        store = wasmtime.Store(self._engine)
        store.set_limits(memory_size=limits.memory_bytes)
        store.set_fuel(limits.setup_fuel)
        store.set_epoch_deadline(self._ticker.ticks_for(limits.timeout_ms))
        if self._allow_wasi:
            store.set_wasi(self._wasi_config())
        linker = self._linker()
        try:
            instance = linker.instantiate(store, self._component)
        except wasmtime.WasmtimeError as error:
            message = str(error).lower()
            if "import" in message and (
                "not defined" in message or "unknown" in message or "missing" in message
            ):
                return MoveResult(None, ForfeitReason.BAD_COMPONENT, 0, first_line(str(error)))
            reason, detail = classify_failure(error)
            if reason is ForfeitReason.TRAP and "memory" in message:
                reason = ForfeitReason.MEMORY
            return MoveResult(None, reason, limits.setup_fuel - _fuel_left(store), detail)
        player = instance.get_export_index(store, contract.PLAYER_INTERFACE)
        begin_index = instance.get_export_index(store, contract.BEGIN, player) if player else None
        move_index = instance.get_export_index(store, contract.NEXT_MOVE, player) if player else None
        begin = instance.get_func(store, begin_index) if begin_index else None
        next_move = instance.get_func(store, move_index) if move_index else None
        if begin is None or next_move is None:
            return MoveResult(
                None, ForfeitReason.BAD_COMPONENT, 0, f"does not export {contract.PLAYER_INTERFACE}"
            )
        setup = self._setup
        capped = history[-limits.history_cap :] if limits.history_cap else ()
        argument = _record(
            game=setup.game,
            moves=list(setup.moves),
            rounds=setup.rounds,
            seed=setup.seed,
            opponent=setup.opponent,
            history=[_round_result(r) for r in capped],
            first_round=first_round,
        )
        calls = self._calls
        try:
            if calls is None:
                begin(store, argument)
            else:
                calls.bind(store, begin, next_move)
                calls.begin(store, begin, argument)
        except wasmtime.WasmtimeError as error:
            reason, detail = classify_failure(error)
            return MoveResult(None, reason, limits.setup_fuel - _fuel_left(store), detail)
        self._store, self._call = store, next_move_call(store, next_move, fast=self._fast, shared=calls)
        return None

    def _wasi_config(self) -> wasmtime.WasiConfig:
        """WASI for admitted WASI components: no files, network, env or args; stdout and stderr go to the log.

        A WASI call in a Store without a WASI context aborts the whole process (wasmtime 50), so every
        Store that links WASI gets one.
        """
        config = wasmtime.WasiConfig()

        def capture(output: bytes) -> None:
            if len(self.logs.lines) >= self.logs.max_lines:
                self.logs.dropped += 1
                return  # a full log costs nothing more, however much the guest prints
            useful = output[: self.logs.max_lines * (self.logs.max_bytes + 1)]  # the rest would be dropped
            for line in useful.decode("utf-8", "replace").splitlines():
                if line.strip():
                    self.logs.add(len(self._seen), line)

        config.stdout_custom = capture
        config.stderr_custom = capture
        return config

    def _linker(self) -> Linker:
        linker = Linker(self._engine)
        if self._allow_wasi:
            linker.add_wasip2()

        def log(_store: object, message: str) -> None:
            self.logs.add(len(self._seen), message)

        with linker.root() as root, root.add_instance(contract.HOST_INTERFACE) as host:
            host.add_func(contract.LOG, log)
        return linker


def _fuel_left(store: wasmtime.Store) -> int:
    try:
        return store.get_fuel()
    except wasmtime.WasmtimeError:
        return 0
