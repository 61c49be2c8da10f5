"""The built-in strategies as authors meet them: smoke-match opponents and `strategy try` opponents.

Read from the build manifest (`strategies/build/manifest.json`), never from a database, so validating
and trying a strategy need no database at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tournament.authoring.policy import ValidationSetupError
from tournament.paths import BUILTINS_MANIFEST
from tournament.rules.errors import UnknownGameError
from tournament.rules.games import get_game

DEFAULT_MANIFEST = BUILTINS_MANIFEST

SMOKE_OPPONENTS: dict[str, tuple[str, ...]] = {
    "rps": ("constant", "rotate", "uniform-random"),
    "rpsls": ("constant", "rotate"),
    "ipd": ("tit-for-tat", "defector", "alternator"),
}
"""Smoke-match opponents per game: a fixed point, a cycle and noise (or the classic IPD trio).
Games not listed play against their first three built-ins by name."""


@dataclass(frozen=True, slots=True)
class BuiltinStrategy:
    name: str
    games: tuple[str, ...]
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()


def read_builtins(manifest: Path | None = None) -> dict[str, BuiltinStrategy]:
    """The built-ins by name; ValidationSetupError when the manifest is missing or malformed."""
    manifest = manifest or DEFAULT_MANIFEST
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
        entries = {
            str(entry["name"]): BuiltinStrategy(
                str(entry["name"]), tuple(map(str, entry["games"])), manifest.parent / str(entry["file"])
            )
            for entry in document["strategies"]
        }
    except FileNotFoundError:
        raise ValidationSetupError(
            f"built-in strategies not found ({manifest} is missing; build them with "
            "`python strategies/build.py`)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValidationSetupError(f"cannot read the built-ins manifest {manifest}: {error}") from None
    return entries


def smoke_opponents(
    games: tuple[str, ...], manifest: Path | None = None
) -> list[tuple[str, BuiltinStrategy]]:
    """(game, opponent) pairs of the smoke match; ValidationSetupError if a game or opponent is missing."""
    builtins = read_builtins(manifest)
    pairs: list[tuple[str, BuiltinStrategy]] = []
    for game in dict.fromkeys(games):
        try:
            get_game(game)
        except UnknownGameError as error:
            raise ValidationSetupError(str(error)) from None
        names = (
            SMOKE_OPPONENTS.get(game)
            or tuple(sorted(name for name, entry in builtins.items() if game in entry.games))[:3]
        )
        missing = [name for name in names if name not in builtins or game not in builtins[name].games]
        if missing or not names:
            raise ValidationSetupError(
                f"no built-in smoke opponents for {game} ({', '.join(missing) or 'none'} missing from "
                f"{manifest or DEFAULT_MANIFEST})"
            )
        pairs.extend((game, builtins[name]) for name in names)
    return pairs
