"""A fast call path for the contract's per-round call, `next-move`.

wasmtime-py's stock `Func.__call__` rebuilds the function's types and lowers every argument on each call
(tens of microseconds); the C call underneath costs well under a microsecond. The C API borrows its
arguments, so this module lowers each distinct round result once, with wasmtime-py's own converters, keeps
the C value, and calls the C API directly through its own ctypes prototypes: no `argtypes` (every argument
is a prebuilt ctypes argument object of the exact C type, so nothing is converted or allocated per call),
and the quick store-context calls (fuel, epoch deadline) keep the GIL. Only `wasmtime_component_func_call`
releases the GIL, so the epoch ticker can interrupt a runaway guest. A move made through
`NextMoveCall.mover` costs three C calls (set fuel, call, read fuel): the epoch deadline is re-armed only
when the ticker's epoch has moved since it was last armed (see `EpochTicker.sequence`), which gives the
same deadline. Results are proven equal to the stock path by differential tests. If wasmtime-py's
internals ever change shape, `fast_path_available()` turns false and the engine falls back to the stock
call. `NextMoveCall.native_side` hands the same raw addresses and lowered arguments to the match loop
written in C (`tournament.sandbox.native`), which makes the same C calls without Python in between.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Hashable
from typing import Any, NoReturn

import wasmtime
from wasmtime.component import U32, Component, Func, Record

from tournament.rules.forfeits import ForfeitReason
from tournament.sandbox import contract
from tournament.sandbox.native import Side
from tournament.sandbox.watchdog import EpochTicker

RoundKey = tuple[int | None, int | None, int, int]

MoveTuple = tuple[int | None, ForfeitReason | None, int, str]
"""A move's outcome as (move, forfeit, fuel, detail): the match loop's hot path makes no objects."""

Mover = Callable[[RoundKey | None], MoveTuple]
"""One instance's move function (see `NextMoveCall.mover`)."""

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
    _VAL_CLONE = _ffi.wasmtime_component_val_clone
    _ERROR_POINTER = ctypes.POINTER(_ffi.wasmtime_error_t)
    _VALUE_OFFSET = _VAL.of.offset
    _RECORD_KIND = _ffi.WASMTIME_COMPONENT_RECORD.value
    _U64_KIND = _ffi.WASMTIME_COMPONENT_U64.value
    _OPTION_KIND = _ffi.WASMTIME_COMPONENT_OPTION.value
    _NUMBERS = {
        _ffi.WASMTIME_COMPONENT_U32.value: (ctypes.c_uint32, 0, 2**32 - 1),
        _ffi.WASMTIME_COMPONENT_S32.value: (ctypes.c_int32, -(2**31), 2**31 - 1),
    }
    """Number kinds a round result's fields may have: the C type and the range it holds."""
    _AVAILABLE = True
except (ImportError, AttributeError):  # pragma: no cover - depends on the installed wasmtime
    _AVAILABLE = False

MAX_LOWERED = 4096
"""Distinct round results kept lowered per player; games have few (moves x moves payoff pairs)."""

MAX_SETUPS = 64
"""Distinct `begin` argument shapes kept lowered per component (see `ComponentCalls.begin`)."""

MAX_TABLES = 64
"""Argument tables kept per component for the native loop (two per game: one per side)."""


def _param(address: int) -> Any:
    """A pointer argument prebuilt as ctypes' own argument object (what `from_param` returns).

    ctypes converts a ctypes instance into such an object, a fresh allocation, on every call; passing
    the object itself skips that (about 0.06 us per argument, ten arguments per move).
    """
    return ctypes.c_void_p.from_param(address)


_ONE = ctypes.c_size_t.from_param(1)
_ZERO = ctypes.c_size_t.from_param(0)


def fast_path_available() -> bool:
    return _AVAILABLE


ROUND_FIELDS = ("my-move", "their-move", "my-payoff", "their-payoff")
"""The contract's `round-result` fields, in the order of a `RoundKey`."""


def round_record(key: RoundKey | None) -> Record | None:
    """The wasmtime-py value of `option<round-result>` for a key (used to lower, and by the stock path)."""
    if key is None:
        return None
    record = Record()
    for name, value in zip(ROUND_FIELDS, key, strict=True):
        setattr(record, name, value)
    return record


def _raise(error: int) -> NoReturn:
    """Raise a C API error the way wasmtime-py's own calls do (a host function's exception first)."""
    failure = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, _ERROR_POINTER))
    maybe_raise_last_exn()
    raise failure


def failed_outcome(error: int, failed: Callable[[wasmtime.WasmtimeError], MoveTuple]) -> MoveTuple:
    """What a move function returns for a C call that failed with `error` (taking ownership of it)."""
    try:
        _raise(error)
    except wasmtime.WasmtimeError as failure:
        return failed(failure)


class ComponentCalls:
    """What every instance of one component shares in a process: its contract functions' parameter types
    and the round results already lowered for `next-move`. Components whose contract functions have the
    same types (all that passed the contract check) may share one: only the export indices are looked
    up per component.

    Types belong to the engine, not to a store, and a lowered value is plain C data that the call only
    borrows, so both outlive the instance they were made with: a match's players start with every round
    result of earlier matches already lowered, and `begin` skips wasmtime-py's per-call type reflection.
    """

    def __init__(self) -> None:
        self._types: tuple[Any, Any] | None = None
        """(begin's FuncType, next-move's FuncType): kept alive for the parameter types below."""
        self._begin_param: Any = None
        self._move_param: Any = None
        self.returns_u32 = False
        """Whether `next-move` returns a u32, as the contract says: the result is then read unchecked."""
        self.lowered: dict[RoundKey | None, Any] = {}
        self._addresses: dict[RoundKey | None, int] = {}
        """The raw addresses of the values in `lowered`."""
        self._tables: dict[tuple[RoundKey | None, ...], Any] = {}
        """Arrays of those addresses for the native loop (see `argument_table`)."""
        self._values: list[Any] = []
        """The lowered C values themselves (the pointers in `lowered` borrow them)."""
        self._setups: dict[Hashable, tuple[Any, ctypes.c_uint64, ctypes.c_uint64]] = {}
        """Lowered `begin` arguments by shape, with views of their `seed` and `opponent` fields."""
        self._exports: dict[int, tuple[Component, Any, Any]] = {}
        """Per component (by identity; the component is kept alive with its indices): see `exports`."""
        self._round_template: tuple[Any, list[tuple[Any, bool, int, int]]] | tuple[()] | None = None
        """`some(round-result)` lowered once, cloned by `lower` (see `_make_round_template`)."""

    def exports(self, component: Component) -> tuple[Any, Any]:
        """`begin`'s and `next-move`'s export indices, looked up once on the component itself: such an
        index is valid for every instance of that component (None for a missing export)."""
        found = self._exports.get(id(component))
        if found is None:
            player = component.get_export_index(contract.PLAYER_INTERFACE)
            begin = component.get_export_index(contract.BEGIN, player) if player else None
            next_move = component.get_export_index(contract.NEXT_MOVE, player) if player else None
            found = self._exports[id(component)] = (component, begin, next_move)
        return found[1], found[2]

    def bind(self, store: wasmtime.Store, begin: Func | None, next_move: Func) -> None:
        """Read the functions' types from the first instance (every later one has the same)."""
        if self._types is None:
            types = (None if begin is None else begin.type(store), next_move.type(store))
            if types[0] is not None:
                ((_, self._begin_param),) = types[0].params
            ((_, self._move_param),) = types[1].params
            self.returns_u32 = isinstance(types[1].result, U32)
            self._types = types

    def begin(
        self,
        store: wasmtime.Store,
        func: Func,
        argument: Callable[[], Record],
        shape: Hashable | None = None,
        seed: int = 0,
        opponent: int = 0,
    ) -> None:
        """Call `begin` as `Func.__call__` does, with the parameter type read once.

        `argument` makes the record (called only when one has to be lowered). `shape` identifies the
        record except for its `seed` and `opponent` (given again as `seed` and `opponent`); None when
        it is not worth keeping. Each shape is lowered once: later arguments of that shape only have the
        two u64 fields rewritten in place (the call borrows its argument), which spares wasmtime-py's
        lowering of the game's strings and the record (most of a player's start).
        """
        template = None
        if shape is not None:
            template = self._setups.get(shape)
            if template is None and len(self._setups) < MAX_SETUPS:
                template = self._template(store, argument())
                if template is not None:
                    self._setups[shape] = template
        if template is not None:
            value, seed_field, opponent_field = template
            seed_field.value = seed
            opponent_field.value = opponent
            self._call_begin(store, func, value)
            return
        value = _VAL()
        self._begin_param.convert_to_c(store, argument(), ctypes.pointer(value))
        try:
            self._call_begin(store, func, value)
        finally:
            _VAL_DELETE(ctypes.byref(value))

    def _template(
        self, store: wasmtime.Store, argument: Record
    ) -> tuple[Any, ctypes.c_uint64, ctypes.c_uint64] | None:
        """`argument` lowered, with views of its `seed` and `opponent` fields; None if it has none."""
        value = _VAL()
        self._begin_param.convert_to_c(store, argument, ctypes.pointer(value))
        fields: dict[bytes, ctypes.c_uint64] = {}
        if value.kind == _RECORD_KIND:
            record = value.of.record
            for index in range(record.size):
                entry = record.data[index]
                if entry.val.kind == _U64_KIND:
                    name = ctypes.string_at(entry.name.data, entry.name.size)
                    fields[name] = ctypes.c_uint64.from_address(ctypes.addressof(entry.val.of))
        if b"seed" not in fields or b"opponent" not in fields:
            _VAL_DELETE(ctypes.byref(value))
            return None
        return value, fields[b"seed"], fields[b"opponent"]

    def _call_begin(self, store: wasmtime.Store, func: Func, value: Any) -> None:
        error = _FUNC_CALL(
            _param(ctypes.addressof(func._func)),
            _param(ctypes.addressof(store._context().contents)),
            _param(ctypes.addressof(value)),
            _ONE,
            None,
            _ZERO,
        )
        if error:
            _raise(error)

    def lower(self, store: wasmtime.Store, key: RoundKey | None) -> Any:
        """A new C value for a round result; the caller owns it (see `keep`).

        wasmtime-py's converter reflects over the type at every value (about 100 us, paid per component
        for each cell of the payoff table in every worker): a round result with both moves is instead a
        clone of one value lowered that way, with its four numbers written in place (a few us).
        """
        if key is not None and key[0] is not None and key[1] is not None:
            value = self._cloned(store, key)
            if value is not None:
                return value
        value = _VAL()
        self._move_param.convert_to_c(store, round_record(key), ctypes.pointer(value))
        return value

    def _cloned(self, store: wasmtime.Store, key: RoundKey) -> Any:
        """`key` lowered as a clone of the round template; None when the template does not fit it."""
        if self._round_template is None:
            self._round_template = self._make_round_template(store)
        if not self._round_template:
            return None
        template, fields = self._round_template
        for number, (_, _, low, high) in zip(key, fields, strict=True):
            if number is None or not low <= number <= high:
                return None
        value = _VAL()
        _VAL_CLONE(ctypes.byref(template), ctypes.byref(value))
        entries = value.of.option.contents.of.record.data
        for index, (number, (kind, option, _, _)) in enumerate(zip(key, fields, strict=True)):
            slot = entries[index].val
            if option:
                slot = slot.of.option.contents
            kind.from_address(ctypes.addressof(slot.of)).value = number
        return value

    def _make_round_template(
        self, store: wasmtime.Store
    ) -> tuple[Any, list[tuple[Any, bool, int, int]]] | tuple[()]:
        """`some(round-result)` lowered by wasmtime-py, with each field's number type (inside an option or
        not) in the contract's field order; () when the type is not that shape (every key is then lowered
        by wasmtime-py)."""
        value = _VAL()
        self._move_param.convert_to_c(store, round_record((0, 0, 0, 0)), ctypes.pointer(value))
        fields: list[tuple[Any, bool, int, int]] = []
        if value.kind == _OPTION_KIND and value.of.option:
            payload = value.of.option.contents
            if payload.kind == _RECORD_KIND and payload.of.record.size == len(ROUND_FIELDS):
                for index, name in enumerate(ROUND_FIELDS):
                    entry = payload.of.record.data[index]
                    slot, option = entry.val, False
                    if slot.kind == _OPTION_KIND and slot.of.option:
                        slot, option = slot.of.option.contents, True
                    number = _NUMBERS.get(slot.kind)
                    if ctypes.string_at(entry.name.data, entry.name.size) != name.encode() or number is None:
                        break
                    fields.append((number[0], option, number[1], number[2]))
        if len(fields) != len(ROUND_FIELDS):
            _VAL_DELETE(ctypes.byref(value))
            return ()
        self._values.append(value)
        return value, fields

    def keep(self, key: RoundKey | None, value: Any) -> bool:
        """Keep a lowered value for every later call; False when the cache is full (free it yourself)."""
        if len(self.lowered) >= MAX_LOWERED:
            return False
        self._values.append(value)
        self._addresses[key] = ctypes.addressof(value)
        self.lowered[key] = _param(ctypes.addressof(value))
        return True

    def argument_table(self, store: wasmtime.Store, keys: tuple[RoundKey | None, ...]) -> Any:
        """A C array of the lowered values of `keys` (lowering what is missing), kept for later matches;
        None when the lowered values or the tables would outgrow their caps."""
        table = self._tables.get(keys)
        if table is not None:
            return table
        if len(self._tables) >= MAX_TABLES:
            return None
        addresses = []
        for key in keys:
            address = self._addresses.get(key)
            if address is None:
                value = self.lower(store, key)
                if not self.keep(key, value):
                    _VAL_DELETE(ctypes.byref(value))
                    return None
                address = self._addresses[key]
            addresses.append(address)
        table = self._tables[keys] = (ctypes.c_void_p * len(keys))(*addresses)
        return table

    def close(self) -> None:
        """Free the lowered arguments (they own heap memory for the record and options)."""
        self.lowered.clear()
        self._addresses.clear()
        self._tables.clear()
        self._round_template = None
        for value in self._values:
            _VAL_DELETE(ctypes.byref(value))
        self._values.clear()
        for value, _, _ in self._setups.values():
            _VAL_DELETE(ctypes.byref(value))
        self._setups.clear()
        self._exports.clear()


class NextMoveCall:
    """Calls one instance's `next-move` under a fuel budget and deadline; traps raise WasmtimeError.

    Holds raw addresses of the store context, the function and the result slot, and keeps the store and
    the function alive for as long as it lives; `close()` before dropping the store. Lowered arguments
    come from `shared` (the component's, kept by the runtime) or, without it, from its own cache.

    It owns its store's fuel and epoch deadline from its first call on: nothing else may set them. With
    `epoch` (the engine's ticker, the only thing that advances the engine's epoch) the deadline is
    re-armed only when the epoch has moved since it was last armed; without it, before every call.
    """

    def __init__(
        self,
        store: wasmtime.Store,
        func: Func,
        shared: ComponentCalls | None = None,
        epoch: EpochTicker | None = None,
    ) -> None:
        self._store = store
        self._func = func
        if shared is None:
            shared = ComponentCalls()
            shared.bind(store, None, func)
            self._owned: ComponentCalls | None = shared
        else:
            self._owned = None
        if not shared.returns_u32:
            raise wasmtime.WasmtimeError("next-move does not return a u32")
        self._shared = shared
        self._lowered = shared.lowered
        self._epoch = epoch
        self._armed = -1
        """`epoch.sequence` when the deadline was last armed; -1: arm before the next call."""
        self._armed_ticks = -1
        self._context_address = ctypes.addressof(store._context().contents)
        self._context = _param(self._context_address)
        self._func_address = _param(ctypes.addressof(func._func))
        self._result = _VAL()
        self._result_address = _param(ctypes.addressof(self._result))
        self._u32 = ctypes.c_uint32.from_buffer(self._result, _VALUE_OFFSET)
        self._fuel_in = ctypes.c_uint64(0)
        self._deadline = ctypes.c_uint64(0)
        self._fuel_out = ctypes.c_uint64(0)
        self._fuel_out_address = _param(ctypes.addressof(self._fuel_out))

    def _arm(self, deadline_ticks: int) -> None:
        """Set the epoch deadline `deadline_ticks` from now, unless the one set last is that already.

        The ticker's sequence is read before arming, and only an even one (no increment in progress) is
        remembered: reading it unchanged later proves the epoch has not moved since (`EpochTicker`).
        """
        epoch = self._epoch
        if epoch is None:
            sequence = -1
        else:
            sequence = epoch.sequence
            if sequence == self._armed and deadline_ticks == self._armed_ticks:
                return
        deadline = self._deadline
        deadline.value = deadline_ticks
        _SET_DEADLINE(self._context, deadline)
        self._armed = -1 if sequence & 1 else sequence
        self._armed_ticks = deadline_ticks

    def __call__(self, key: RoundKey | None, fuel: int, deadline_ticks: int) -> tuple[int, int]:
        """(move, fuel consumed). The move is the raw u32; the rules decide whether it is legal."""
        argument = self._lowered.get(key)
        if argument is None:
            return self._call_unlowered(key, fuel, deadline_ticks)
        fuel_in = self._fuel_in
        if fuel_in.value != fuel:
            fuel_in.value = fuel
        context = self._context
        error = _SET_FUEL(context, fuel_in)
        if error:
            _raise(error)
        self._arm(deadline_ticks)
        error = _FUNC_CALL(self._func_address, context, argument, _ONE, self._result_address, _ONE)
        if error:
            _raise(error)
        move = self._u32.value
        if _GET_FUEL(context, self._fuel_out_address):
            return move, fuel
        return move, fuel - self._fuel_out.value

    def mover(
        self,
        fuel: int,
        deadline_ticks: int,
        seen: list[RoundKey],
        failed: Callable[[wasmtime.WasmtimeError], MoveTuple],
    ) -> Mover:
        """This instance's move function for a player: `__call__` with everything bound in a closure.

        The function appends a non-None `last` to `seen`, then returns (raw u32 move, None, fuel
        consumed, "") or, when the call fails, what `failed` makes of the error. It is the match loop's
        hot path: one Python frame, three C calls with prebuilt arguments, and the deadline re-armed only
        when the epoch has moved.
        """
        lowered_get = self._lowered.get
        context = self._context
        func_address = self._func_address
        result_address = self._result_address
        u32 = self._u32
        fuel_in = ctypes.c_uint64.from_param(fuel)
        fuel_out = self._fuel_out
        fuel_out_address = self._fuel_out_address
        append = seen.append
        arm = self._arm
        call = self.__call__
        set_fuel, func_call, get_fuel, one = _SET_FUEL, _FUNC_CALL, _GET_FUEL, _ONE
        epoch = self._epoch
        this = self

        def move(last: RoundKey | None) -> MoveTuple:
            if last is not None:
                append(last)
            argument = lowered_get(last)
            try:
                if argument is None:
                    raw, used = call(last, fuel, deadline_ticks)
                    return raw, None, used, ""
                error = set_fuel(context, fuel_in)
                if error:
                    _raise(error)
                if epoch is None or epoch.sequence != this._armed or this._armed_ticks != deadline_ticks:
                    arm(deadline_ticks)
                error = func_call(func_address, context, argument, one, result_address, one)
                if error:
                    _raise(error)
            except wasmtime.WasmtimeError as failure:
                return failed(failure)
            if get_fuel(context, fuel_out_address):
                return u32.value, None, fuel, ""
            return u32.value, None, fuel - fuel_out.value, ""

        return move

    def native_side(self, fuel: int, deadline_ticks: int, keys: tuple[RoundKey | None, ...]) -> Side | None:
        """This instance for the native loop (`tournament.sandbox.native`), with `keys` (the argument of
        each cell and of round 0) lowered; None when they cannot all be kept lowered.

        The native loop arms the deadline before each of its calls, so the mover's record of the last
        one it armed is reset here: its next call arms again.
        """
        table = self._shared.argument_table(self._store, keys)
        if table is None:
            return None
        self._armed = -1
        side = Side(
            self._context_address,
            ctypes.addressof(self._func._func),
            ctypes.addressof(self._result),
            ctypes.addressof(self._result) + _VALUE_OFFSET,
            ctypes.addressof(table),
            fuel,
            deadline_ticks,
        )
        side.table = table  # the array must live as long as the struct that points into it
        return side

    def fuel_left(self) -> int:
        if _GET_FUEL(self._context, self._fuel_out_address):
            return 0
        return int(self._fuel_out.value)

    def _call_unlowered(self, key: RoundKey | None, fuel: int, deadline_ticks: int) -> tuple[int, int]:
        value = self._shared.lower(self._store, key)
        if self._shared.keep(key, value):
            return self(key, fuel, deadline_ticks)
        self._lowered[key] = _param(ctypes.addressof(value))
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

    def mover(
        self,
        fuel: int,
        deadline_ticks: int,
        seen: list[RoundKey],
        failed: Callable[[wasmtime.WasmtimeError], MoveTuple],
    ) -> Mover:
        """The same move function as `NextMoveCall.mover`, over the stock call."""

        def move(last: RoundKey | None) -> MoveTuple:
            if last is not None:
                seen.append(last)
            try:
                raw, used = self(last, fuel, deadline_ticks)
            except wasmtime.WasmtimeError as failure:
                return failed(failure)
            return raw, None, used, ""

        return move

    def fuel_left(self) -> int:
        try:
            return self._store.get_fuel()
        except wasmtime.WasmtimeError:
            return 0

    def close(self) -> None:
        return None


def next_move_call(
    store: wasmtime.Store,
    func: Func,
    *,
    fast: bool = True,
    shared: ComponentCalls | None = None,
    epoch: EpochTicker | None = None,
) -> NextMoveCall | StockNextMoveCall:
    """The fastest available caller for an instance's `next-move`."""
    if fast and _AVAILABLE:
        return NextMoveCall(store, func, shared, epoch)
    return StockNextMoveCall(store, func)
