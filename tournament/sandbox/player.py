"""A strategy instance playing one match: one Store per (match, player), every failure made typed.

A trap poisons a Store, so an instance is never reused after one. Budget forfeits (fuel, timeout) lose
only that round: the player is restarted in a fresh Store before its next move, with the match's earlier
rounds appended to its history. Any other failure ends the player's part in the match.
"""

from __future__ import annotations

import ctypes
import gc
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import wasmtime
from wasmtime.component import Component, Linker, Record

from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import RoundRecord
from tournament.sandbox import contract
from tournament.sandbox.artifacts import first_line
from tournament.sandbox.errors import EngineCapacityError
from tournament.sandbox.fastcall import (
    ComponentCalls,
    Mover,
    MoveTuple,
    NextMoveCall,
    RoundKey,
    StockNextMoveCall,
    failed_outcome,
    fast_path_available,
    next_move_call,
)
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.native import Side
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


POOL_FULL = "maximum concurrent limit of"
"""How wasmtime says a pooling allocator total is reached (`engine.POOL_BOUNDS`): never a forfeit."""


def _instantiate_pooled(linker: Linker, store: wasmtime.Store, component: Component) -> Any:
    """Instantiate; when the engine's instance pool is full, collect garbage (players dropped without
    `close` that only a collection frees) and try once more; EngineCapacityError if it is still full."""
    for attempt in range(2):
        try:
            return linker.instantiate(store, component)
        except wasmtime.WasmtimeError as error:
            if POOL_FULL not in str(error):
                raise
            if attempt:
                detail = first_line(str(error))
                raise EngineCapacityError(f"the sandbox engine is at capacity: {detail}") from error
            gc.collect()
    raise AssertionError("unreachable")


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


class HostLinker:
    """A linker with the host imports, shared by every player of an engine (with or without WASI).

    Building a linker and its host function costs a player's start about as much as instantiating;
    shared, the `log` import finds the player that logged by the store it was called from. Players
    register their store's context before instantiating and unregister it before dropping the store.
    """

    def __init__(self, engine: wasmtime.Engine, *, allow_wasi: bool = False) -> None:
        self.linker = Linker(engine)
        if allow_wasi:
            self.linker.add_wasip2()
        self._loggers: dict[int, weakref.WeakMethod[Callable[[str], None]]] = {}
        loggers = self._loggers

        def log(store: Any, message: str) -> None:
            logger = loggers.get(ctypes.addressof(store._context().contents))
            method = None if logger is None else logger()
            if method is not None:
                method(message)

        with self.linker.root() as root, root.add_instance(contract.HOST_INTERFACE) as host:
            host.add_func(contract.LOG, log)

    def register(self, store: wasmtime.Store, logger: Callable[[str], None]) -> int:
        """Route `log` calls from `store` to the method `logger`; returns the key for `unregister`.

        Held weakly: a player dropped without `close` is then still freed, and its Store with it (the
        pooling allocator's slots go back to the engine)."""
        key = ctypes.addressof(store._context().contents)
        self._loggers[key] = weakref.WeakMethod(logger)
        return key

    def unregister(self, key: int) -> None:
        self._loggers.pop(key, None)


class NativeSeat:
    """A player's part in a run of the native loop (`WasmPlayer.native_seat`).

    While the run lasts, the player's log lines take their round from the run's round cell (the C loop
    writes it before each call) instead of the length of the player's history, which is behind: the
    match loop appends the run's rounds to it (`seen`) when the run returns, before any further move.
    """

    __slots__ = ("_player", "seen", "side")

    def __init__(self, player: WasmPlayer, side: Side) -> None:
        self._player = player
        self.side = side
        self.seen = player._seen
        """The player's history of this match: the match loop appends the rounds the run played."""

    def outcome(self) -> MoveTuple:
        """The player's move in the round that stopped the run, as its move function would have returned
        it (a failed call becomes its forfeit, and the instance is dropped)."""
        side = self.side
        error = side.error
        if error:
            side.error = None
            return failed_outcome(error, self._player._failed_call)
        return side.move, None, side.used, ""

    def release(self) -> None:
        """The run is over: log lines go back to counting `seen`."""
        self._player._round_cell = None


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
        linker: HostLinker | None = None,
    ) -> None:
        """`calls`: the component's shared call state (its runtime keeps one per component); without it
        the player keeps its own for the match. `linker`: the engine's shared `HostLinker` for this
        WASI choice (its runtime keeps them); without it the player makes its own."""
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
        self._mover: Mover | None = None
        """The current instance's move function (`NextMoveCall.mover`), None without an instance."""
        self._failed_call: Callable[[wasmtime.WasmtimeError], MoveTuple] = self._no_instance
        """What the current instance's move function makes of a failed call."""
        self._round_cell: ctypes.c_int64 | None = None
        """The round a native run is playing (see `NativeSeat`), None outside one."""
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
        self._host = linker
        self._host_key: int | None = None

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
        mover = self._mover
        if mover is None:  # out of the match, restarting after a budget forfeit, or not started
            if last is not None:
                self._seen.append(last)
            return self._move_without_instance()
        return mover(last)

    def mover(self) -> Mover | None:
        """`move` for the current instance as a plain function, None when there is no instance.

        Valid until it returns the first forfeit (the instance is gone then): a match loop may call it
        instead of `move` until then, and must go back to `move` after. The move it returns, when there
        is no forfeit, is an int >= 0 (a u32).
        """
        return self._mover

    def native_seat(self, keys: tuple[RoundKey | None, ...], round_cell: ctypes.c_int64) -> NativeSeat | None:
        """The current instance for the native loop, None without one or on the stock call.

        `keys` are the loop's arguments from this player's side (see `NextMoveCall.native_side`);
        `round_cell` is where the loop writes the round it plays (for log lines). Valid, like `mover`,
        until the run reports this player's first forfeit.
        """
        call = self._call
        if not isinstance(call, NextMoveCall):
            return None
        side = call.native_side(self._budget, self._deadline, keys)
        if side is None:
            return None
        self._round_cell = round_cell
        return NativeSeat(self, side)

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

    def _no_instance(self, error: wasmtime.WasmtimeError) -> MoveTuple:
        raise RuntimeError("a move failed without an instance") from error

    def close(self) -> None:
        self._drop_instance()
        if self._owned_calls is not None:
            self._owned_calls.close()

    def _drop_instance(self) -> None:
        """Let the instance's Store go now: with the pooling allocator its slots are free for the next
        instance at once, not when a garbage collection frees this player (the failure handler below
        refers back to the player)."""
        if self._call is not None:
            self._call.close()
        if self._host_key is not None and self._host is not None:
            self._host.unregister(self._host_key)
            self._host_key = None
        self._store = self._call = self._mover = None
        self._failed_call = self._no_instance

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
        if self._host is None:
            self._host = HostLinker(self._engine, allow_wasi=self._allow_wasi)
        if self._host_key is not None:
            self._host.unregister(self._host_key)
        self._host_key = self._host.register(store, self._log)
        try:
            instance = _instantiate_pooled(self._host.linker, store, self._component)
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
        calls = self._calls
        if calls is not None:
            begin_index, move_index = calls.exports(self._component)
        else:
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

        def argument() -> Record:
            return _record(
                game=setup.game,
                moves=list(setup.moves),
                rounds=setup.rounds,
                seed=setup.seed,
                opponent=setup.opponent,
                history=[_round_result(r) for r in capped],
                first_round=first_round,
            )

        try:
            if calls is None:
                begin(store, argument())
            else:
                calls.bind(store, begin, next_move)
                # A match's first start with no earlier meetings is the common one: its argument differs
                # from the component's other matches of this game only in seed and opponent.
                shape = None if capped or first_round else (setup.game, setup.moves, setup.rounds)
                calls.begin(store, begin, argument, shape, setup.seed, setup.opponent)
            call = next_move_call(store, next_move, fast=self._fast, shared=calls, epoch=self._ticker)
        except wasmtime.WasmtimeError as error:
            reason, detail = classify_failure(error)
            return MoveResult(None, reason, limits.setup_fuel - _fuel_left(store), detail)
        self._store, self._call = store, call
        self._failed_call = partial(self._failed, call)
        self._mover = call.mover(self._budget, self._deadline, self._seen, self._failed_call)
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
                    self.logs.add(self._round(), line)

        config.stdout_custom = capture
        config.stderr_custom = capture
        return config

    def _log(self, message: str) -> None:
        self.logs.add(self._round(), message)

    def _round(self) -> int:
        """The round being played: `seen` holds every earlier one, except during a native run."""
        cell = self._round_cell
        return len(self._seen) if cell is None else cell.value


def _fuel_left(store: wasmtime.Store) -> int:
    try:
        return store.get_fuel()
    except wasmtime.WasmtimeError:
        return 0
