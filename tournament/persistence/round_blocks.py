"""How a match's rounds are stored: blocks of up to `BLOCK_ROUNDS` consecutive rounds, one database row
per block, each block's values packed into one little-endian integer array.

Why not a row per round: a worker recording a 200-round match spent about 0.4 ms binding and inserting
its 200 rows (a third of its time per match, inside the lock that workers take turns at), against
about 0.05 ms for one packed block; reading a match back is likewise one row instead of hundreds. This
is how replays are kept at scale (lichess packs a game's moves into a few bytes; Halite and Kaggle keep
one replay file per episode). Every round is still stored, with all of its values.

The format is frozen: stored data depends on it, and a change needs a migration. A block's ``data`` is
seven columns of ``rounds`` values each, in this order:

    fuel_a, fuel_b, payoff_a, payoff_b, move_a, move_b, flags

each value a signed little-endian integer of ``width`` bytes (1, 2, 4 or 8: the narrowest that holds
every value of the block). A move is -1 when its player forfeited the round (the record's None).
``flags`` is ``noise_a | noise_b << 1 | code(forfeit_a) << 2 | code(forfeit_b) << 6``, where a
forfeit's code is 0 for none, else 1 + the reason's position in `FORFEIT_CODES`.
"""

from __future__ import annotations

import functools
import itertools
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import CleanRounds, RoundLog, RoundRow

BLOCK_ROUNDS = 1024
"""Rounds per block at most: a page of a long match's replay reads one or two blocks (28 KiB each at
4 bytes a value), never the whole match."""
FORFEIT_CODES: tuple[ForfeitReason, ...] = (
    ForfeitReason.FUEL,
    ForfeitReason.TIMEOUT,
    ForfeitReason.MEMORY,
    ForfeitReason.TRAP,
    ForfeitReason.ILLEGAL_MOVE,
    ForfeitReason.BAD_COMPONENT,
)
"""Stored forfeit reasons by position (code = position + 1): append new reasons, never reorder."""
COLUMNS = ("fuel_a", "fuel_b", "payoff_a", "payoff_b", "move_a", "move_b", "flags")
"""The order of a block's columns in its ``data``."""

_TYPECODES = {1: "b", 2: "h", 4: "i", 8: "q"}
_WIDTHS = tuple(_TYPECODES.items())
_BIG_ENDIAN = sys.byteorder == "big"
_CODE = {reason.value: index + 1 for index, reason in enumerate(FORFEIT_CODES)}
_FLAG_BITS = 4
_FORFEIT_MASK = (1 << _FLAG_BITS) - 1
_PLAIN = (False, False, None, None)
_FIELDS = {name: index for index, name in enumerate(COLUMNS)}

for _width, _typecode in _TYPECODES.items():  # the format depends on it: fail at import, not on read
    if array(_typecode).itemsize != _width:
        raise ImportError(f"array typecode {_typecode!r} is not {_width} bytes on this platform")


class RoundEncodingError(ValueError):
    """A round that the block format cannot hold (a value beyond 64 bits, an unknown forfeit reason)."""


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive rounds ``first_round`` .. ``first_round + rounds - 1`` of a match, packed."""

    first_round: int
    rounds: int
    width: int
    data: bytes


def encode(rows: Sequence[RoundRow] | RoundLog) -> list[Block]:
    """The blocks holding ``rows`` (a match's rounds in order): a new block at every `BLOCK_ROUNDS`
    rounds and wherever the round numbers skip. A `RoundLog` whose clean runs the native loop kept as
    columns is packed from those columns, without a tuple per round (the same bytes)."""
    if isinstance(rows, RoundLog):
        if rows.clean:
            whole = _log_columns(rows)
            if whole is not None:
                return _blocks_of(*whole)
        rows = rows.rows
    blocks: list[Block] = []
    start, total = 0, len(rows)
    while start < total:
        run = rows if start == 0 and total <= BLOCK_ROUNDS else rows[start : start + BLOCK_ROUNDS]
        columns = list(zip(*run, strict=True))
        indices = columns[0]
        first = indices[0]
        if indices != tuple(range(first, first + len(indices))):
            end = next(i for i, index in enumerate(indices) if index != first + i)
            columns = [values[:end] for values in columns]
        blocks.append(_pack(first, len(columns[0]), _stored(columns)))
        start += len(columns[0])
    return blocks


_Columns = list[Sequence[int] | None]
"""A block's columns in `COLUMNS` order; flags None when all are 0."""


def _log_columns(log: RoundLog) -> tuple[int, int, _Columns] | None:
    """(first round, rounds, columns) of the whole log, or None when its rounds are not consecutive."""
    runs: list[CleanRounds] = list(log.clean)
    first = runs[0].first
    end = first
    for run in runs:
        if run.first != end:
            return None
        end += len(run)
    tail = log.tail
    if tail and [row[0] for row in tail] != list(range(end, end + len(tail))):
        return None
    count = end - first + len(tail)
    if len(runs) == 1 and not tail:
        (run,) = runs
        return (
            first,
            count,
            [run.fuel_a, run.fuel_b, run.payoff_a, run.payoff_b, run.move_a, run.move_b, None],
        )
    names = ("fuel_a", "fuel_b", "payoff_a", "payoff_b", "move_a", "move_b")
    columns: _Columns = [
        list(itertools.chain.from_iterable(getattr(run, name) for run in runs)) for name in names
    ]
    flags: list[int] | None = None
    if tail:
        stored = _stored(list(zip(*tail, strict=True)))
        for column, values in zip(columns[:6], stored[:6], strict=True):
            cast(list[int], column).extend(cast(Sequence[int], values))
        if stored[6] is not None:
            flags = [0] * (count - len(tail))
            flags.extend(stored[6])
    columns.append(flags)
    return first, count, columns


def _blocks_of(first: int, count: int, columns: _Columns) -> list[Block]:
    if count <= BLOCK_ROUNDS:
        return [_pack(first, count, columns)]
    return [
        _pack(
            first + start,
            min(BLOCK_ROUNDS, count - start),
            [None if values is None else values[start : start + BLOCK_ROUNDS] for values in columns],
        )
        for start in range(0, count, BLOCK_ROUNDS)
    ]


def _stored(columns: list[tuple[Any, ...]]) -> _Columns:
    """A run of rows' columns (in `RoundRow` order) as stored (`COLUMNS`). When every round is plain
    (no noise, no forfeit: almost always), nothing is converted per round."""
    _, move_a, move_b, payoff_a, payoff_b, noise_a, noise_b, forfeit_a, forfeit_b, fuel_a, fuel_b = columns
    n = len(move_a)
    flags: list[int] | None = None
    forfeits = forfeit_a.count(None) != n or forfeit_b.count(None) != n
    if forfeits or any(noise_a) or any(noise_b):
        flags = [0] * n
        _mark(flags, noise_a, 1)
        _mark(flags, noise_b, 2)
        if forfeits:
            for i, (fa, fb) in enumerate(zip(forfeit_a, forfeit_b, strict=True)):
                if fa is not None or fb is not None:
                    flags[i] |= _code(fa) << 2 | _code(fb) << 2 + _FLAG_BITS
            move_a = tuple(-1 if move is None else move for move in move_a)
            move_b = tuple(-1 if move is None else move for move in move_b)
    return [fuel_a, fuel_b, payoff_a, payoff_b, move_a, move_b, flags]


def _pack(first: int, n: int, columns: _Columns) -> Block:
    """One block of `n` rounds from its columns: each packed by one `struct` call (a tenth of the time
    `array` takes to convert a list), at the narrowest width every value fits."""
    for width, typecode in _WIDTHS:  # fuel comes first: a too-narrow width fails on its first value
        layout = _layout(typecode, n)
        try:
            parts = [bytes(width * n) if values is None else layout.pack(*values) for values in columns]
        except struct.error:
            continue
        return Block(first, n, width, b"".join(parts))
    raise RoundEncodingError(
        f"rounds {first}..{first + n - 1} hold a value that is not an integer of at most 64 bits"
    )


@functools.lru_cache(maxsize=256)
def _layout(typecode: str, count: int) -> struct.Struct:
    return struct.Struct(f"<{count}{typecode}")


def _mark(flags: list[int], noise: tuple[bool, ...], bit: int) -> None:
    """Set `bit` in the flags of the noisy rounds, found by `tuple.index` (in C: a noisy match has a
    few noisy rounds among hundreds)."""
    start = 0
    while True:
        try:
            index = noise.index(True, start)
        except ValueError:
            return
        flags[index] |= bit
        start = index + 1


def _code(reason: str | None) -> int:
    if reason is None:
        return 0
    try:
        return _CODE[reason]
    except KeyError:
        raise RoundEncodingError(f"unknown forfeit reason {reason!r}") from None


def _values(block: Block) -> array[int]:
    if block.width not in _TYPECODES or len(block.data) != block.width * block.rounds * len(COLUMNS):
        raise RoundEncodingError(
            f"a block of {block.rounds} rounds at width {block.width} cannot hold {len(block.data)} bytes"
        )
    values = array(_TYPECODES[block.width], block.data)
    if _BIG_ENDIAN:
        values.byteswap()
    return values


def column(block: Block, name: str) -> array[int]:
    """One column of a block (see `COLUMNS`), as stored: moves -1 where forfeited, flags packed."""
    values = _values(block)
    start = _FIELDS[name] * block.rounds
    return values[start : start + block.rounds]


def decode(block: Block) -> list[RoundRow]:
    """The block's rounds as `RoundLog` rows, in order."""
    values = _values(block)
    n = block.rounds
    fuel_a, fuel_b, payoff_a, payoff_b, move_a, move_b, flags = (
        values[i * n : (i + 1) * n] for i in range(7)
    )
    indices = range(block.first_round, block.first_round + n)
    if not any(flags):
        return [
            (index, ma, mb, pa, pb, False, False, None, None, fa, fb)
            for index, ma, mb, pa, pb, fa, fb in zip(
                indices, move_a, move_b, payoff_a, payoff_b, fuel_a, fuel_b, strict=True
            )
        ]
    return [
        (
            index,
            None if ma < 0 else ma,
            None if mb < 0 else mb,
            pa,
            pb,
            *_flags(flag),
            fa,
            fb,
        )
        for index, ma, mb, pa, pb, flag, fa, fb in zip(
            indices, move_a, move_b, payoff_a, payoff_b, flags, fuel_a, fuel_b, strict=True
        )
    ]


def _flags(flag: int) -> tuple[bool, bool, ForfeitReason | None, ForfeitReason | None]:
    if flag == 0:
        return _PLAIN
    return (
        bool(flag & 1),
        bool(flag & 2),
        _reason(flag >> 2 & _FORFEIT_MASK),
        _reason(flag >> 2 + _FLAG_BITS & _FORFEIT_MASK),
    )


def _reason(code: int) -> ForfeitReason | None:
    if code == 0:
        return None
    if code > len(FORFEIT_CODES):
        raise RoundEncodingError(f"unknown forfeit code {code}")
    return FORFEIT_CODES[code - 1]


def decode_all(blocks: Iterable[Block]) -> Iterator[RoundRow]:
    """The rounds of several blocks, in the blocks' order."""
    for block in blocks:
        yield from decode(block)
