"""Seeds derived from names and numbers, so a match's randomness depends on the pairing, not on run order.

Everything is blake2b over a type-tagged, length-prefixed encoding: pure, platform-independent, and
("a", 1), ("a1",), (1, 2) and (12,) all encode differently.
"""

from __future__ import annotations

import hashlib

SEED_BITS = 63
"""Derived seeds fit a signed 64-bit integer column and are never negative."""

_SEED_PERSON = b"tournament.seed"
_OPPONENT_PERSON = b"tournament.opp"


def _encode(part: int | str) -> bytes:
    # Exact type checks: bool is an int subclass and True must not collide with 1.
    if type(part) is int:
        tag, data = b"i", part.to_bytes((part.bit_length() + 8) // 8, "big", signed=True)
    elif type(part) is str:
        tag, data = b"s", part.encode("utf-8")
    else:
        raise TypeError(f"seed parts must be int or str, got {type(part).__name__}: {part!r}")
    return tag + len(data).to_bytes(8, "big") + data


def _digest(person: bytes, parts: tuple[int | str, ...]) -> int:
    h = hashlib.blake2b(digest_size=8, person=person)
    h.update(len(parts).to_bytes(8, "big"))
    for part in parts:
        h.update(_encode(part))
    return int.from_bytes(h.digest(), "big")


def derive_seed(*parts: int | str) -> int:
    """A non-negative 63-bit seed from the parts, e.g. ``derive_seed(tournament_seed, rep, name_a, name_b)``.

    Raises TypeError for a part that is neither int nor str (bool included).
    """
    return _digest(_SEED_PERSON, parts) >> (64 - SEED_BITS)


def opponent_id(strategy_name: str) -> int:
    """A stable, opaque unsigned 64-bit id: strategies recognise an opponent without learning its name."""
    return _digest(_OPPONENT_PERSON, (strategy_name,))
