"""The WIT contract as the host sees it: names, version and the exact expected signatures.

The WIT text itself lives in `wit/strategy.wit`; these constants must agree with it (a test checks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PACKAGE = "tournament:strategy"
VERSION = (1, 0, 0)
VERSION_TEXT = "1.0.0"
WORLD = "strategy"

PLAYER = "player"
HOST = "host"
TYPES = "types"

PLAYER_INTERFACE = f"{PACKAGE}/{PLAYER}@{VERSION_TEXT}"
HOST_INTERFACE = f"{PACKAGE}/{HOST}@{VERSION_TEXT}"

BEGIN = "begin"
NEXT_MOVE = "next-move"
LOG = "log"

ROUND_RESULT = "record{my-move: option<u32>, their-move: option<u32>, my-payoff: s32, their-payoff: s32}"
MATCH_SETUP = (
    "record{game: string, moves: list<string>, rounds: option<u32>, seed: u64, opponent: u64, "
    f"history: list<{ROUND_RESULT}>, first-round: u32}}"
)

EXPECTED_EXPORTS: dict[str, str] = {
    BEGIN: f"func(setup: {MATCH_SETUP})",
    NEXT_MOVE: f"func(last: option<{ROUND_RESULT}>) -> u32",
}
"""Exported functions of the player interface, rendered by `tournament.sandbox.validation.describe`."""

EXPECTED_HOST_IMPORTS: dict[str, str] = {LOG: "func(message: string)"}

_INTERFACE_NAME = re.compile(
    r"^(?P<package>[a-z][a-z0-9-]*:[a-z][a-z0-9-]*)/(?P<name>[a-z][a-z0-9-]*)(?:@(?P<version>\S+))?$"
)
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


@dataclass(frozen=True, slots=True)
class InterfaceName:
    """A parsed `namespace:package/interface@version` name."""

    package: str
    name: str
    version: tuple[int, int, int] | None

    @property
    def version_text(self) -> str:
        return "unversioned" if self.version is None else ".".join(map(str, self.version))


def parse_interface_name(text: str) -> InterfaceName | None:
    """Parse an interface import/export name; None for plain (non-interface) names."""
    match = _INTERFACE_NAME.match(text)
    if match is None:
        return None
    version = None
    if match["version"] is not None:
        parsed = _SEMVER.match(match["version"])
        if parsed is None:
            return InterfaceName(match["package"], match["name"], None)
        version = (int(parsed[1]), int(parsed[2]), int(parsed[3]))
    return InterfaceName(match["package"], match["name"], version)


def is_compatible(version: tuple[int, int, int] | None) -> bool:
    """Semver compatibility with the host's contract: same major (and same minor while major is 0)."""
    if version is None:
        return False
    if VERSION[0] == 0:
        return version[:2] == VERSION[:2]
    return version[0] == VERSION[0]
