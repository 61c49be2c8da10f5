"""A fast call path for the contract's per-round call, `next-move`.

wasmtime-py's stock `Func.__call__` rebuilds the function's types and lowers every argument on each call
(tens of microseconds); the C call underneath costs about a microsecond. The C API borrows its arguments,
so this module lowers each distinct round result once, with wasmtime-py's own converters, keeps the C
value, and calls `wasmtime_component_func_call` directly. Results are proven equal to the stock path by
differential tests. If wasmtime-py's internals ever change shape, `fast_path_available()` turns false and
the engine falls back to the stock call.
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime
from wasmtime.component import Func, Record

RoundKey = tuple[int | None, int | None, int, int]

try:
    from wasmtime import _bindings as _raw
    from wasmtime import _ffi

    _FUNC_CALL = _raw._wasmtime_component_func_call
    _SET_FUEL = _raw._wasmtime_context_set_fuel
    _GET_FUEL = _raw._wasmtime_context_get_fuel
    _SET_DEADLINE = _raw._wasmtime_context_set_epoch_deadline
    _VAL = _ffi.wasmtime_component_val_t
    _VAL_DELETE = _ffi.wasmtime_component_val_delete
    _U32_KIND = _ffi.WASMTIME_COMPONENT_U32.value
    _AVAILABLE = True
except (ImportError, AttributeError):  # pragma: no cover - depends on the installed wasmtime
    _AVAILABLE = False

MAX_LOWERED = 4096
"""Distinct round results kept lowered per player; games have few (moves x moves payoff pairs)."""


def fast_path_available() -> bool:
    return _AVAILABLE


def round_record(key: RoundKey | None) -> Record | None:
    """The wasmtime-py value of `option<round-result>` for a key (used to lower, and by the stock path)."""
    if key is None:
        return None
    record = Record()
    for name, value in zip(("my-move", "their-move", "my-payoff", "their-payoff"), key, strict=True):
        setattr(record, name, value)
    return record


class NextMoveCall:
    """Calls one instance's `next-move` under a fuel budget and deadline; traps raise WasmtimeError."""

    def __init__(self, store: wasmtime.Store, func: Func) -> None:
        self._store = store
        self._func = func
        self._func_ref = ctypes.byref(func._func)
        self._context = store._context()
        ((_, self._param_type),) = func.type(store).params
        self._lowered: dict[RoundKey | None, Any] = {}
        self._result = _VAL()
        self._result_ref = ctypes.byref(self._result)
        self._fuel = ctypes.c_uint64(0)
        self._fuel_ref = ctypes.byref(self._fuel)

    def __call__(self, key: RoundKey | None, fuel: int, deadline_ticks: int) -> tuple[int, int]:
        """(move, fuel consumed). The move is the raw u32; the rules decide whether it is legal."""
        argument = self._lowered.get(key)
        temporary = None
        if argument is None:
            argument = self._lower(key)
            if len(self._lowered) < MAX_LOWERED:
                self._lowered[key] = argument
            else:
                temporary = argument
        context = self._context
        try:
            error = _SET_FUEL(context, fuel)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
            _SET_DEADLINE(context, deadline_ticks)
            error = _FUNC_CALL(self._func_ref, context, ctypes.byref(argument), 1, self._result_ref, 1)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
        finally:
            if temporary is not None:
                _VAL_DELETE(ctypes.byref(temporary))
        if self._result.kind != _U32_KIND:
            raise wasmtime.WasmtimeError("next-move returned a value that is not a u32")
        move = int(self._result.of.u32)
        return move, fuel - self.fuel_left()

    def fuel_left(self) -> int:
        if _GET_FUEL(self._context, self._fuel_ref):
            return 0
        return int(self._fuel.value)

    def _lower(self, key: RoundKey | None) -> Any:
        value = _VAL()
        self._param_type.convert_to_c(self._store, round_record(key), ctypes.pointer(value))
        return value

    def close(self) -> None:
        """Free the lowered arguments (they own heap memory for the record and options)."""
        for value in self._lowered.values():
            _VAL_DELETE(ctypes.byref(value))
        self._lowered.clear()


class StockNextMoveCall:
    """The same call through wasmtime-py's stock `Func.__call__`: the reference and the fallback."""

    def __init__(self, store: wasmtime.Store, func: Func) -> None:
        self._store = store
        self._func = func

    def __call__(self, key: RoundKey | None, fuel: int, deadline_ticks: int) -> tuple[int, int]:
        self._store.set_fuel(fuel)
        self._store.set_epoch_deadline(deadline_ticks)
        move = self._func(self._store, round_record(key))
        return int(move), fuel - self.fuel_left()

    def fuel_left(self) -> int:
        try:
            return self._store.get_fuel()
        except wasmtime.WasmtimeError:
            return 0

    def close(self) -> None:
        return None


def next_move_call(
    store: wasmtime.Store, func: Func, *, fast: bool = True
) -> NextMoveCall | StockNextMoveCall:
    """The fastest available caller for an instance's `next-move`."""
    if fast and _AVAILABLE:
        return NextMoveCall(store, func)
    return StockNextMoveCall(store, func)
