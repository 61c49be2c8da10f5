"""A fast call path for the contract's per-round call, `next-move`.

wasmtime-py's stock `Func.__call__` rebuilds the function's types and lowers every argument on each call
(tens of microseconds); the C call underneath costs well under a microsecond. The C API borrows its
arguments, so this module lowers each distinct round result once, with wasmtime-py's own converters, keeps
the C value, and calls the C API directly through its own ctypes prototypes: no `argtypes` (every argument
is a prebuilt ctypes object of the exact C type, so nothing is converted per call), and the quick
store-context calls (fuel, epoch deadline) keep the GIL. Only `wasmtime_component_func_call` releases the
GIL, so the epoch ticker can interrupt a runaway guest. Results are proven equal to the stock path by
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
    from wasmtime import _ffi
    from wasmtime.component._enter import maybe_raise_last_exn

    _DLL = _ffi.dll
    # The call may run long and call back into Python (`log`): it releases the GIL.
    _FUNC_CALL = ctypes.CFUNCTYPE(ctypes.c_void_p)(("wasmtime_component_func_call", _DLL))
    # Store-context accessors return at once: keeping the GIL saves a release and re-acquire each.
    _SET_FUEL = ctypes.PYFUNCTYPE(ctypes.c_void_p)(("wasmtime_context_set_fuel", _DLL))
    _GET_FUEL = ctypes.PYFUNCTYPE(ctypes.c_void_p)(("wasmtime_context_get_fuel", _DLL))
    _SET_DEADLINE = ctypes.PYFUNCTYPE(None)(("wasmtime_context_set_epoch_deadline", _DLL))
    _VAL = _ffi.wasmtime_component_val_t
    _VAL_DELETE = _ffi.wasmtime_component_val_delete
    _ERROR_POINTER = ctypes.POINTER(_ffi.wasmtime_error_t)
    _U32_KIND = _ffi.WASMTIME_COMPONENT_U32.value
    _KIND_OFFSET = _VAL.kind.offset
    _VALUE_OFFSET = _VAL.of.offset
    _AVAILABLE = True
except (ImportError, AttributeError):  # pragma: no cover - depends on the installed wasmtime
    _AVAILABLE = False

MAX_LOWERED = 4096
"""Distinct round results kept lowered per player; games have few (moves x moves payoff pairs)."""

_ONE = ctypes.c_size_t(1)
_ZERO = ctypes.c_size_t(0)


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


def _raise(error: int) -> None:
    """Raise a C API error the way wasmtime-py's own calls do (a host function's exception first)."""
    failure = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, _ERROR_POINTER))
    maybe_raise_last_exn()
    raise failure


class ComponentCalls:
    """What every instance of one component shares in a process: its contract functions' parameter types
    and the round results already lowered for `next-move`.

    Types belong to the engine, not to a store, and a lowered value is plain C data that the call only
    borrows, so both outlive the instance they were made with: a match's players start with every round
    result of earlier matches already lowered, and `begin` skips wasmtime-py's per-call type reflection.
    """

    def __init__(self) -> None:
        self._types: tuple[Any, Any] | None = None
        """(begin's FuncType, next-move's FuncType): kept alive for the parameter types below."""
        self._begin_param: Any = None
        self._move_param: Any = None
        self.lowered: dict[RoundKey | None, ctypes.c_void_p] = {}
        self._values: list[Any] = []
        """The lowered C values themselves (the pointers in `lowered` borrow them)."""

    def bind(self, store: wasmtime.Store, begin: Func | None, next_move: Func) -> None:
        """Read the functions' types from the first instance (every later one has the same)."""
        if self._types is None:
            types = (None if begin is None else begin.type(store), next_move.type(store))
            if types[0] is not None:
                ((_, self._begin_param),) = types[0].params
            ((_, self._move_param),) = types[1].params
            self._types = types

    def begin(self, store: wasmtime.Store, func: Func, argument: Record) -> None:
        """Call `begin` as `Func.__call__` does, with the parameter type read once."""
        value = _VAL()
        self._begin_param.convert_to_c(store, argument, ctypes.pointer(value))
        try:
            error = _FUNC_CALL(
                ctypes.c_void_p(ctypes.addressof(func._func)),
                ctypes.c_void_p(ctypes.addressof(store._context().contents)),
                ctypes.c_void_p(ctypes.addressof(value)),
                _ONE,
                None,
                _ZERO,
            )
        finally:
            _VAL_DELETE(ctypes.byref(value))
        if error:
            _raise(error)

    def lower(self, store: wasmtime.Store, key: RoundKey | None) -> Any:
        """A new C value for a round result; the caller owns it (see `keep`)."""
        value = _VAL()
        self._move_param.convert_to_c(store, round_record(key), ctypes.pointer(value))
        return value

    def keep(self, key: RoundKey | None, value: Any) -> bool:
        """Keep a lowered value for every later call; False when the cache is full (free it yourself)."""
        if len(self.lowered) >= MAX_LOWERED:
            return False
        self._values.append(value)
        self.lowered[key] = ctypes.c_void_p(ctypes.addressof(value))
        return True

    def close(self) -> None:
        """Free the lowered arguments (they own heap memory for the record and options)."""
        self.lowered.clear()
        for value in self._values:
            _VAL_DELETE(ctypes.byref(value))
        self._values.clear()


class NextMoveCall:
    """Calls one instance's `next-move` under a fuel budget and deadline; traps raise WasmtimeError.

    Holds raw addresses of the store context, the function and the result slot, and keeps the store and
    the function alive for as long as it lives; `close()` before dropping the store. Lowered arguments
    come from `shared` (the component's, kept by the runtime) or, without it, from its own cache.
    """

    def __init__(self, store: wasmtime.Store, func: Func, shared: ComponentCalls | None = None) -> None:
        self._store = store
        self._func = func
        if shared is None:
            shared = ComponentCalls()
            shared.bind(store, None, func)
            self._owned: ComponentCalls | None = shared
        else:
            self._owned = None
        self._shared = shared
        self._lowered = shared.lowered
        self._context = ctypes.c_void_p(ctypes.addressof(store._context().contents))
        self._func_address = ctypes.c_void_p(ctypes.addressof(func._func))
        self._result = _VAL()
        self._result_address = ctypes.c_void_p(ctypes.addressof(self._result))
        self._kind = ctypes.c_uint8.from_buffer(self._result, _KIND_OFFSET)
        self._u32 = ctypes.c_uint32.from_buffer(self._result, _VALUE_OFFSET)
        self._fuel_in = ctypes.c_uint64(0)
        self._deadline = ctypes.c_uint64(0)
        self._fuel_out = ctypes.c_uint64(0)
        self._fuel_out_address = ctypes.c_void_p(ctypes.addressof(self._fuel_out))

    def __call__(self, key: RoundKey | None, fuel: int, deadline_ticks: int) -> tuple[int, int]:
        """(move, fuel consumed). The move is the raw u32; the rules decide whether it is legal."""
        argument = self._lowered.get(key)
        if argument is None:
            return self._call_unlowered(key, fuel, deadline_ticks)
        fuel_in = self._fuel_in
        if fuel_in.value != fuel:
            fuel_in.value = fuel
        deadline = self._deadline
        if deadline.value != deadline_ticks:
            deadline.value = deadline_ticks
        context = self._context
        error = _SET_FUEL(context, fuel_in)
        if error:
            _raise(error)
        _SET_DEADLINE(context, deadline)
        error = _FUNC_CALL(self._func_address, context, argument, _ONE, self._result_address, _ONE)
        if error:
            _raise(error)
        if self._kind.value != _U32_KIND:
            raise wasmtime.WasmtimeError("next-move returned a value that is not a u32")
        move = self._u32.value
        if _GET_FUEL(context, self._fuel_out_address):
            return move, fuel
        return move, fuel - self._fuel_out.value

    def fuel_left(self) -> int:
        if _GET_FUEL(self._context, self._fuel_out_address):
            return 0
        return int(self._fuel_out.value)

    def _call_unlowered(self, key: RoundKey | None, fuel: int, deadline_ticks: int) -> tuple[int, int]:
        value = self._shared.lower(self._store, key)
        if self._shared.keep(key, value):
            return self(key, fuel, deadline_ticks)
        self._lowered[key] = ctypes.c_void_p(ctypes.addressof(value))
        try:
            return self(key, fuel, deadline_ticks)
        finally:
            del self._lowered[key]
            _VAL_DELETE(ctypes.byref(value))

    def close(self) -> None:
        """Free what this caller owns (the shared cache belongs to its runtime)."""
        if self._owned is not None:
            self._owned.close()


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
    store: wasmtime.Store, func: Func, *, fast: bool = True, shared: ComponentCalls | None = None
) -> NextMoveCall | StockNextMoveCall:
    """The fastest available caller for an instance's `next-move`."""
    if fast and _AVAILABLE:
        return NextMoveCall(store, func, shared)
    return StockNextMoveCall(store, func)
