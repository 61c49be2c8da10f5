"""The packed round format: every round survives a round trip, and the stored bytes never change."""

from __future__ import annotations

import pickle
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tournament.persistence import round_blocks
from tournament.persistence.round_blocks import BLOCK_ROUNDS, Block, RoundEncodingError, decode, encode
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import CleanRounds, RoundLog, RoundRow

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@st.composite
def _rounds(draw: st.DrawFn, values: st.SearchStrategy[int] = _INT64) -> list[RoundRow]:
    first = draw(st.integers(min_value=0, max_value=10**6))
    count = draw(st.integers(min_value=0, max_value=40))
    rows: list[RoundRow] = []
    for index in range(first, first + count):
        forfeit_a = draw(st.none() | st.sampled_from(ForfeitReason))
        forfeit_b = draw(st.none() | st.sampled_from(ForfeitReason))
        move = st.integers(min_value=0, max_value=255)
        rows.append(
            (
                index,
                None if forfeit_a is not None and draw(st.booleans()) else draw(move),
                None if forfeit_b is not None and draw(st.booleans()) else draw(move),
                draw(values),
                draw(values),
                draw(st.booleans()),
                draw(st.booleans()),
                forfeit_a,
                forfeit_b,
                draw(st.integers(min_value=0, max_value=2**63 - 1)),
                draw(st.integers(min_value=0, max_value=2**63 - 1)),
            )
        )
    return rows


def _plain(count: int, fuel: int = 900, first: int = 0) -> list[RoundRow]:
    return [(first + i, i % 2, 1, 3, 0, False, False, None, None, fuel + i, fuel) for i in range(count)]


def _decoded(blocks: list[Block]) -> list[RoundRow]:
    return [row for block in blocks for row in decode(block)]


@given(_rounds())
def test_any_rounds_round_trip(rows: list[RoundRow]) -> None:
    assert _decoded(encode(rows)) == rows


@given(_rounds(st.integers(min_value=-100, max_value=100)))
def test_small_values_round_trip_in_narrow_blocks(rows: list[RoundRow]) -> None:
    blocks = encode(rows)
    assert _decoded(blocks) == rows
    assert all(block.width <= 8 for block in blocks)


def test_plain_rounds_decode_with_plain_flags_and_int_moves() -> None:
    rows = _plain(5)
    (block,) = encode(rows)
    assert decode(block) == rows
    assert all(type(row[1]) is int and row[5] is False and row[7] is None for row in decode(block))


def test_forfeit_reasons_decode_as_enum_members() -> None:
    rows: list[RoundRow] = [
        (0, None, 2, -1, 1, False, True, ForfeitReason.TRAP, None, 7, 8),
        (1, 0, None, 1, -1, True, False, None, ForfeitReason.BAD_COMPONENT, 0, 0),
    ]
    decoded = decode(encode(rows)[0])
    assert decoded == rows
    assert decoded[0][7] is ForfeitReason.TRAP
    assert decoded[1][8] is ForfeitReason.BAD_COMPONENT


def test_a_forfeit_reason_given_as_its_string_is_stored_as_the_reason() -> None:
    row = (0, None, 1, 0, 1, False, False, "fuel", None, 1, 1)
    assert decode(encode([row])[0])[0][7] is ForfeitReason.FUEL  # type: ignore[list-item]


def test_the_narrowest_width_that_holds_every_value_is_chosen() -> None:
    assert [encode(_plain(3, fuel))[0].width for fuel in (5, 1_000, 100_000, 2**40)] == [1, 2, 4, 8]


def test_blocks_split_at_the_block_size_and_at_gaps() -> None:
    rows = _plain(BLOCK_ROUNDS + 10) + _plain(3, first=BLOCK_ROUNDS + 20)
    blocks = encode(rows)
    assert [(b.first_round, b.rounds) for b in blocks] == [
        (0, BLOCK_ROUNDS),
        (BLOCK_ROUNDS, 10),
        (BLOCK_ROUNDS + 20, 3),
    ]
    assert _decoded(blocks) == rows
    assert encode([]) == []


def test_the_stored_bytes_are_frozen() -> None:
    """Stored databases depend on this layout: a change here needs a migration, not an edit."""
    rows: list[RoundRow] = [
        (4, 1, 0, 5, 0, False, False, None, None, 300, 2),
        (5, None, 2, -1, 1, True, False, ForfeitReason.TIMEOUT, ForfeitReason.MEMORY, 0, 1),
    ]
    (block,) = encode(rows)
    assert (block.first_round, block.rounds, block.width) == (4, 2, 2)
    expected = [300, 0, 2, 1, 5, -1, 0, 1, 1, -1, 0, 2, 0, 1 | 2 << 2 | 3 << 6]
    assert block.data == b"".join(value.to_bytes(2, "little", signed=True) for value in expected)
    assert round_blocks.FORFEIT_CODES[:6] == (
        ForfeitReason.FUEL, ForfeitReason.TIMEOUT, ForfeitReason.MEMORY, ForfeitReason.TRAP,
        ForfeitReason.ILLEGAL_MOVE, ForfeitReason.BAD_COMPONENT,
    )  # fmt: skip
    assert set(round_blocks.FORFEIT_CODES) == set(ForfeitReason), "every reason needs a code"
    assert round_blocks.COLUMNS == ("fuel_a", "fuel_b", "payoff_a", "payoff_b", "move_a", "move_b", "flags")


def test_column_reads_one_column_as_stored() -> None:
    (block,) = encode(_plain(4))
    assert list(round_blocks.column(block, "payoff_a")) == [3, 3, 3, 3]
    assert list(round_blocks.column(block, "move_a")) == [0, 1, 0, 1]


def test_values_beyond_64_bits_and_unknown_reasons_are_refused() -> None:
    with pytest.raises(RoundEncodingError, match="64 bits"):
        encode([(0, 0, 0, 2**63, 0, False, False, None, None, 0, 0)])
    with pytest.raises(RoundEncodingError, match="unknown forfeit reason"):
        encode([(0, None, 0, 0, 0, False, False, "gremlins", None, 0, 0)])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "block",
    [
        Block(0, 2, 2, bytes(27)),  # not 2 rounds x 7 columns x 2 bytes
        Block(0, 1, 3, bytes(21)),  # no such width
        Block(0, 1, 1, bytes([0, 0, 0, 0, 0, 0, 15 << 2])),  # forfeit code 15
    ],
)
def test_corrupt_blocks_are_refused(block: Block) -> None:
    with pytest.raises(RoundEncodingError):
        decode(block)


def _clean_runs(rows: list[RoundRow], cuts: list[int]) -> list[CleanRounds]:
    """Plain rows as the native loop keeps them: runs of columns in its arrays' types."""
    runs = []
    for start, stop in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        part = rows[start:stop]
        if not part:
            continue
        column = list(zip(*part, strict=True))
        runs.append(
            CleanRounds(
                part[0][0],
                array("I", column[1]),
                array("I", column[2]),
                array("q", column[3]),
                array("q", column[4]),
                array("Q", column[9]),
                array("Q", column[10]),
            )
        )
    return runs


@given(
    clean=st.integers(min_value=1, max_value=BLOCK_ROUNDS + 300),
    cuts=st.lists(st.integers(min_value=1, max_value=BLOCK_ROUNDS + 299), max_size=3),
    tail=_rounds(st.integers(min_value=-(2**40), max_value=2**40)),
    fuel=st.sampled_from([3, 900, 70_000, 2**40]),
)
def test_a_log_of_column_runs_packs_to_the_same_bytes_as_its_rows(
    clean: int, cuts: list[int], tail: list[RoundRow], fuel: int
) -> None:
    """The native loop's clean rounds (columns) followed by rows: the same blocks as the rows alone."""
    plain = _plain(clean, fuel)
    shifted: list[RoundRow] = [(clean + i, *row[1:]) for i, row in enumerate(tail)]
    log = RoundLog(shifted, _clean_runs(plain, sorted(c for c in cuts if c < clean)))
    assert log.rows == plain + shifted
    assert len(log) == clean + len(tail)
    assert encode(log) == encode(plain + shifted)


def test_a_log_whose_rounds_skip_is_packed_from_its_rows() -> None:
    plain = _plain(10)
    tail: list[RoundRow] = [(20, 1, 1, 0, 0, False, False, None, None, 5, 5)]
    log = RoundLog(tail, _clean_runs(plain, [4]))
    assert [(b.first_round, b.rounds) for b in encode(log)] == [(0, 10), (20, 1)]
    assert _decoded(encode(log)) == plain + tail


def test_a_round_log_pickles_with_its_column_runs() -> None:
    log = RoundLog([(3, 0, 1, 0, 5, True, False, None, None, 1, 1)], _clean_runs(_plain(3), []))
    copy = pickle.loads(pickle.dumps(log))
    assert copy == log
    assert copy.clean == log.clean
