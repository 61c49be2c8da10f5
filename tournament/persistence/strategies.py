"""Strategies, their versions and the content-addressed component store.

Functions take a Session and flush but never commit: the caller's ``sessions.begin()`` block is the
transaction. Components are opaque bytes here; validation happens in the sandbox layer before upload.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from tournament.persistence.errors import InvalidStrategyError, UnknownStrategyError
from tournament.persistence.models import (
    VERSION_STATUSES,
    Author,
    ComponentBlob,
    Strategy,
    StrategyTag,
    StrategyVersion,
)

NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
"""kebab-case: lowercase letters and digits in words joined by single hyphens."""
NAME_MAX_LENGTH = 64
SEMVER_PATTERN = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
"""The official semver 2.0.0 grammar."""
_KNOWN_LIST_CAP = 30


@dataclass(frozen=True, slots=True)
class StrategyVersionInfo:
    """One stored strategy version with its strategy's metadata: what services and the engine need."""

    version_id: int
    strategy_id: int
    name: str
    version: str
    content_hash: str
    """sha256 hex of the component; fetch the bytes with :func:`component_bytes`."""
    language: str
    games: tuple[str, ...]
    size: int
    deterministic: bool
    builtin: bool
    status: str
    """'validating' | 'active' | 'rejected' | 'retired'."""
    wit_version: str
    description: str
    author: str | None = None


def version_info(version: StrategyVersion, strategy: Strategy) -> StrategyVersionInfo:
    """The value object for a loaded version row and its strategy row."""
    return StrategyVersionInfo(
        version_id=version.id,
        strategy_id=strategy.id,
        name=strategy.name,
        version=version.version,
        content_hash=version.content_hash,
        language=version.language,
        games=tuple(strategy.games),
        size=version.size,
        deterministic=version.deterministic,
        builtin=strategy.builtin,
        status=version.status,
        wit_version=version.wit_version,
        description=strategy.description,
        author=strategy.author,
    )


def _versions_query() -> Select[StrategyVersion, Strategy]:
    return select(StrategyVersion, Strategy).join(Strategy, StrategyVersion.strategy_id == Strategy.id)


def content_hash(data: bytes) -> str:
    """The content address of component bytes (sha256, lowercase hex)."""
    return hashlib.sha256(data).hexdigest()


def validate_name(name: str) -> None:
    """Raise InvalidStrategyError unless ``name`` is a kebab-case strategy name."""
    if len(name) > NAME_MAX_LENGTH or not NAME_PATTERN.match(name):
        raise InvalidStrategyError(
            f"invalid strategy name {name!r}: use kebab-case (lowercase letters, digits and single hyphens, "
            f"at most {NAME_MAX_LENGTH} characters)"
        )


def validate_version(version: str) -> None:
    """Raise InvalidStrategyError unless ``version`` is a semver label such as ``1.2.0``."""
    if len(version) > 100 or not SEMVER_PATTERN.match(version):
        raise InvalidStrategyError(f"invalid version {version!r}: use semver, e.g. 1.0.0")


def _validate_games(games: Iterable[str]) -> list[str]:
    result = list(games)
    if not result or not all(isinstance(game, str) and game for game in result):
        raise InvalidStrategyError(f"a strategy must list the games it plays, got {result!r}")
    return result


def _store_blob(session: Session, data: bytes) -> str:
    """Store ``data`` once under its hash (race-free: a concurrent identical insert is ignored)."""
    digest = content_hash(data)
    present = session.execute(
        select(ComponentBlob.content_hash).where(ComponentBlob.content_hash == digest)
    ).first()
    if present is None:
        values = {"content_hash": digest, "data": data, "size": len(data)}
        # Dialect modules are imported here: the PostgreSQL one costs every command ~60 ms of start-up.
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            session.execute(
                postgresql.insert(ComponentBlob)
                .values(values)
                .on_conflict_do_nothing(index_elements=["content_hash"])
            )
        else:
            from sqlalchemy.dialects import sqlite

            session.execute(
                sqlite.insert(ComponentBlob)
                .values(values)
                .on_conflict_do_nothing(index_elements=["content_hash"])
            )
    return digest


def add_version(
    session: Session,
    *,
    name: str,
    data: bytes,
    version: str,
    language: str,
    games: Sequence[str],
    description: str,
    deterministic: bool,
    builtin: bool = False,
    author: str | None = None,
    wit_version: str = "1.0.0",
    status: str = "active",
) -> StrategyVersionInfo:
    """Store a new version of strategy ``name`` (creating the strategy on first upload).

    Identical bytes are stored once however many versions use them. Re-adding the same name, version and
    bytes returns the stored version (an idempotent retry); the same label with different bytes is refused,
    so a version label always means one build. The strategy's description, games and author follow the
    latest upload.
    """
    validate_name(name)
    validate_version(version)
    game_list = _validate_games(games)
    if status not in VERSION_STATUSES:
        raise InvalidStrategyError(f"invalid version status {status!r}: one of {', '.join(VERSION_STATUSES)}")
    strategy = session.scalars(select(Strategy).where(Strategy.name == name)).one_or_none()
    if strategy is None:
        strategy = Strategy(
            name=name, description=description, author=author, games=game_list, builtin=builtin
        )
        session.add(strategy)
        session.flush()
    else:
        if strategy.builtin != builtin:
            kind = "a built-in" if strategy.builtin else "an uploaded"
            raise InvalidStrategyError(f"{name!r} is already {kind} strategy; choose another name")
        strategy.description = description
        strategy.games = game_list
        if author is not None:
            strategy.author = author
    digest = _store_blob(session, data)
    existing = session.scalars(
        select(StrategyVersion).where(
            StrategyVersion.strategy_id == strategy.id, StrategyVersion.version == version
        )
    ).one_or_none()
    if existing is not None:
        if existing.content_hash != digest:
            raise InvalidStrategyError(
                f"strategy {name!r} already has a version {version} with different bytes; "
                "upload it under a new version"
            )
        session.flush()
        return version_info(existing, strategy)
    row = StrategyVersion(
        strategy_id=strategy.id,
        version=version,
        content_hash=digest,
        wit_version=wit_version,
        language=language,
        size=len(data),
        deterministic=deterministic,
        status=status,
    )
    session.add(row)
    session.flush()
    return version_info(row, strategy)


def set_version_status(session: Session, version_id: int, status: str) -> StrategyVersionInfo:
    """Move a version through validating -> active | rejected, or retire it."""
    if status not in VERSION_STATUSES:
        raise InvalidStrategyError(f"invalid version status {status!r}: one of {', '.join(VERSION_STATUSES)}")
    session.execute(
        update(StrategyVersion)
        .where(StrategyVersion.id == version_id)
        .values(status=status)
        .execution_options(synchronize_session="fetch")
    )
    return version_by_id(session, version_id)


@dataclass(frozen=True, slots=True)
class _ManifestEntry:
    name: str
    version: str
    language: str
    games: list[str]
    description: str
    deterministic: bool
    data: bytes


def _read_manifest(manifest_path: Path) -> tuple[str, list[_ManifestEntry]]:
    """Parse and check the built-ins manifest; every problem is one InvalidStrategyError line."""
    where = f"built-in manifest {manifest_path}"
    try:
        document: Any = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidStrategyError(f"{where}: cannot read it ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("strategies"), list):
        raise InvalidStrategyError(f"{where}: expected an object with a 'strategies' list")
    wit = document.get("wit", "1.0.0")
    if not isinstance(wit, str):
        raise InvalidStrategyError(f"{where}: 'wit' must be a version string")
    entries: list[_ManifestEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(document["strategies"]):
        if not isinstance(item, dict):
            raise InvalidStrategyError(f"{where}: strategy #{index} is not an object")
        try:
            name, version, file = str(item["name"]), str(item["version"]), str(item["file"])
            language = str(item.get("language", "unknown"))
            games = item["games"]
        except KeyError as missing:
            raise InvalidStrategyError(f"{where}: strategy #{index} has no {missing.args[0]!r}") from None
        validate_name(name)
        validate_version(version)
        if name in seen:
            raise InvalidStrategyError(f"{where}: strategy {name!r} is listed twice")
        seen.add(name)
        if not isinstance(games, list):
            raise InvalidStrategyError(f"{where}: 'games' of {name!r} must be a list")
        path = manifest_path.parent / file
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InvalidStrategyError(
                f"{where}: cannot read {file} for {name!r} ({error.strerror or error})"
            ) from None
        entries.append(
            _ManifestEntry(
                name=name,
                version=version,
                language=language,
                games=_validate_games(games),
                description=str(item.get("description", "")),
                deterministic=bool(item.get("deterministic", True)),
                data=data,
            )
        )
    return wit, entries


def _free_label(version: str, digest: str, taken: set[str]) -> str:
    """``version`` if unused, else the version with the hash prefix as semver build metadata."""
    if version not in taken:
        return version
    separator = "." if "+" in version else "+"
    for length in (8, 16, 64):
        label = f"{version}{separator}{digest[:length]}"
        if label not in taken:
            return label
    raise InvalidStrategyError(f"no free version label for {version} ({digest})")


def register_builtins(session: Session, manifest_path: Path) -> list[StrategyVersionInfo]:
    """Make the database's built-in strategies match the manifest; cheap and a no-op when nothing changed.

    A strategy or version is added only when that exact content hash is not already a version of that
    strategy. When a built-in's bytes change, the new build becomes a new active version (labelled
    ``{version}+{hash[:8]}`` if the manifest's label is taken) and the built-in's other active versions are
    retired, so tournaments pick up the rebuild while old tournaments keep their pinned versions. Reverting
    to an earlier build reactivates its version, but a built-in whose newest version was retired by hand
    stays retired. Returns the current version of every manifest entry, in manifest order.
    """
    wit, entries = _read_manifest(manifest_path)
    names = [entry.name for entry in entries]
    strategies = {
        strategy.name: strategy
        for strategy in session.scalars(select(Strategy).where(Strategy.name.in_(names)))
    }
    versions: dict[int, list[StrategyVersion]] = {}
    if strategies:
        ids = [strategy.id for strategy in strategies.values()]
        for version_row in session.scalars(
            select(StrategyVersion).where(StrategyVersion.strategy_id.in_(ids)).order_by(StrategyVersion.id)
        ):
            versions.setdefault(version_row.strategy_id, []).append(version_row)

    result: list[StrategyVersionInfo] = []
    for entry in entries:
        digest = content_hash(entry.data)
        strategy = strategies.get(entry.name)
        if strategy is None:
            strategy = Strategy(
                name=entry.name, description=entry.description, games=entry.games, builtin=True
            )
            session.add(strategy)
            session.flush()
        elif not strategy.builtin:
            raise InvalidStrategyError(
                f"built-in strategy {entry.name!r} clashes with an uploaded strategy of the same name"
            )
        else:
            if strategy.description != entry.description:
                strategy.description = entry.description
            if list(strategy.games) != entry.games:
                strategy.games = entry.games
        own = versions.get(strategy.id, [])
        current = next((row for row in own if row.content_hash == digest), None)
        if current is None:
            _store_blob(session, entry.data)
            current = StrategyVersion(
                strategy_id=strategy.id,
                version=_free_label(entry.version, digest, {row.version for row in own}),
                content_hash=digest,
                wit_version=wit,
                language=entry.language,
                size=len(entry.data),
                deterministic=entry.deterministic,
                status="active",
            )
            session.add(current)
        elif current.status != "active" and any(row.id > current.id for row in own):
            # A reverted build comes back; a built-in retired by hand (nothing newer) stays retired.
            current.status = "active"
        for row in own:
            if row is not current and row.status == "active":
                row.status = "retired"
        session.flush()
        result.append(version_info(current, strategy))
    return result


def version_by_id(session: Session, version_id: int) -> StrategyVersionInfo:
    """The stored version with this id; UnknownStrategyError if there is none."""
    row = session.execute(_versions_query().where(StrategyVersion.id == version_id)).first()
    if row is None:
        raise UnknownStrategyError(f"no strategy version with id {version_id}")
    return version_info(row[0], row[1])


def component_bytes(session: Session, digest: str) -> bytes:
    """The component stored under ``digest``; UnknownStrategyError if there is none."""
    data = session.scalar(select(ComponentBlob.data).where(ComponentBlob.content_hash == digest))
    if data is None:
        raise UnknownStrategyError(f"no component with hash {digest}")
    return data


def _current_versions(session: Session, *, active_only: bool) -> dict[str, StrategyVersionInfo]:
    """Per strategy name, the newest active version (or, with ``active_only=False``, the newest of any
    status when none is active)."""
    query = _versions_query().order_by(Strategy.name, StrategyVersion.id.desc())
    if active_only:
        query = query.where(StrategyVersion.status == "active")
    current: dict[str, StrategyVersionInfo] = {}
    for version, strategy in session.execute(query):
        known = current.get(strategy.name)
        if known is None or (known.status != "active" and version.status == "active"):
            current[strategy.name] = version_info(version, strategy)
    return current


def _known_list(names: Sequence[str]) -> str:
    if len(names) <= _KNOWN_LIST_CAP:
        return ", ".join(names)
    return f"{', '.join(names[:_KNOWN_LIST_CAP])}, ... ({len(names) - _KNOWN_LIST_CAP} more)"


def active_versions(
    session: Session, game: str, names: Sequence[str] | None = None
) -> list[StrategyVersionInfo]:
    """The current (newest active) version of each strategy that plays ``game``.

    Without ``names``: all of them, ordered by name. With ``names``: exactly those, in the given order;
    names that are unknown, have no active version or do not play ``game`` raise one UnknownStrategyError
    naming them all and listing the strategies that are known for the game.
    """
    current = _current_versions(session, active_only=True)
    playable = {name: info for name, info in current.items() if game in info.games}
    if names is None:
        return [playable[name] for name in sorted(playable)]
    missing = [name for name in dict.fromkeys(names) if name not in playable]
    if missing:
        raise UnknownStrategyError(
            _unknown_message(session, game, missing, current, playable), tuple(missing)
        )
    return [playable[name] for name in names]


def _unknown_message(
    session: Session,
    game: str,
    missing: list[str],
    current: dict[str, StrategyVersionInfo],
    playable: dict[str, StrategyVersionInfo],
) -> str:
    quoted = ", ".join(repr(name) for name in missing)
    noun = "strategy" if len(missing) == 1 else "strategies"
    known = f"known for {game}: {_known_list(sorted(playable))}" if playable else f"none known for {game}"
    hints: list[str] = []
    stored = set(session.scalars(select(Strategy.name).where(Strategy.name.in_(missing))))
    for name in missing:
        if name in current:
            hints.append(f"{name!r} plays {', '.join(current[name].games)}, not {game}")
        elif name in stored:
            hints.append(f"{name!r} has no active version")
    hint = f"; {'; '.join(hints)}" if hints else ""
    return f"unknown {noun} {quoted} ({known}){hint}"


def list_strategies(session: Session) -> list[StrategyVersionInfo]:
    """Every strategy with its current version (newest active, else newest of any status), by name."""
    current = _current_versions(session, active_only=False)
    return [current[name] for name in sorted(current)]


def strategy_versions(session: Session, name: str) -> list[StrategyVersionInfo]:
    """All stored versions of strategy ``name``, newest first; UnknownStrategyError if there is none."""
    rows = session.execute(_versions_query().where(Strategy.name == name).order_by(StrategyVersion.id.desc()))
    result = [version_info(version, strategy) for version, strategy in rows]
    if not result:
        raise UnknownStrategyError(f"unknown strategy {name!r}", (name,))
    return result


@dataclass(frozen=True, slots=True)
class StrategyRecord:
    """A stored strategy with its owner: what ownership checks and detail views need."""

    id: int
    name: str
    description: str
    games: tuple[str, ...]
    builtin: bool
    owner_id: int | None
    owner: str | None
    """The owning author's name (None for built-ins and strategies without an owner)."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version with everything a detail view shows, including its stored validation report."""

    version_id: int
    version: str
    status: str
    content_hash: str
    size: int
    language: str
    wit_version: str
    deterministic: bool
    created_at: datetime
    validation_report: dict[str, Any] | None
    rejection_reasons: tuple[str, ...]


def find_strategy(session: Session, name: str) -> StrategyRecord | None:
    """The strategy called ``name`` with its owner, or None."""
    row = session.execute(
        select(Strategy, Author.name)
        .outerjoin(Author, Strategy.owner_id == Author.id)
        .where(Strategy.name == name)
    ).first()
    if row is None:
        return None
    strategy, owner = row
    return StrategyRecord(
        id=strategy.id,
        name=strategy.name,
        description=strategy.description,
        games=tuple(strategy.games),
        builtin=strategy.builtin,
        owner_id=strategy.owner_id,
        owner=owner,
        created_at=strategy.created_at,
    )


def strategy_owners(session: Session) -> dict[str, str]:
    """Strategy name -> owning author's name, for every strategy that has an owner."""
    rows = session.execute(select(Strategy.name, Author.name).join(Author, Strategy.owner_id == Author.id))
    return {strategy: owner for strategy, owner in rows}


def create_strategy(
    session: Session, name: str, *, description: str, games: Sequence[str], owner_id: int | None
) -> int:
    """Insert a new uploaded strategy and return its id.

    Unlike :func:`add_version`, this never attaches to an existing strategy: if another transaction
    created the same name first, the insert fails (IntegrityError) instead of silently joining it.
    """
    validate_name(name)
    owner = None if owner_id is None else session.get(Author, owner_id)
    strategy = Strategy(
        name=name,
        description=description,
        games=_validate_games(games),
        builtin=False,
        owner_id=owner_id,
        author=None if owner is None else owner.name,
    )
    session.add(strategy)
    session.flush()
    return strategy.id


def record_validation(
    session: Session,
    version_id: int,
    *,
    status: str,
    report: dict[str, Any],
    rejection_reasons: Sequence[str] = (),
    wit_version: str | None = None,
    deterministic: bool | None = None,
) -> StrategyVersionInfo:
    """Store a version's validation report and the state it leads to ('active' or 'rejected')."""
    if status not in ("active", "rejected"):
        raise InvalidStrategyError(f"a validated version becomes 'active' or 'rejected', not {status!r}")
    row = session.get(StrategyVersion, version_id)
    if row is None:
        raise UnknownStrategyError(f"no strategy version with id {version_id}")
    row.status = status
    row.validation_report = dict(report)
    row.rejection_reasons = list(rejection_reasons) if status == "rejected" else None
    if wit_version:
        row.wit_version = wit_version
    if deterministic is not None:
        row.deterministic = deterministic
    session.flush()
    return version_by_id(session, version_id)


def validation_report(session: Session, version_id: int) -> dict[str, Any] | None:
    """The stored validation report of one version (None: never validated, e.g. a built-in)."""
    report = session.scalar(select(StrategyVersion.validation_report).where(StrategyVersion.id == version_id))
    return None if report is None else dict(report)


def version_records(session: Session, strategy_id: int) -> list[VersionRecord]:
    """Every version of the strategy with its report and rejection reasons, newest first."""
    rows = session.scalars(
        select(StrategyVersion)
        .where(StrategyVersion.strategy_id == strategy_id)
        .order_by(StrategyVersion.id.desc())
    )
    return [
        VersionRecord(
            version_id=row.id,
            version=row.version,
            status=row.status,
            content_hash=row.content_hash,
            size=row.size,
            language=row.language,
            wit_version=row.wit_version,
            deterministic=row.deterministic,
            created_at=row.created_at,
            validation_report=None if row.validation_report is None else dict(row.validation_report),
            rejection_reasons=tuple(row.rejection_reasons or ()),
        )
        for row in rows
    ]


TAG_PATTERN = NAME_PATTERN
"""Tags follow the strategy-name rules (kebab-case), so they read well in ``--tags ladder,weekly``."""


def validate_tag(tag: str) -> None:
    """Raise InvalidStrategyError unless ``tag`` is a kebab-case label of at most 64 characters."""
    if len(tag) > NAME_MAX_LENGTH or not TAG_PATTERN.match(tag):
        raise InvalidStrategyError(
            f"invalid tag {tag!r}: use kebab-case (lowercase letters, digits and single hyphens, "
            f"at most {NAME_MAX_LENGTH} characters)"
        )


def _strategy_id(session: Session, name: str) -> int:
    strategy_id = session.scalar(select(Strategy.id).where(Strategy.name == name))
    if strategy_id is None:
        raise UnknownStrategyError(f"unknown strategy {name!r}", (name,))
    return strategy_id


def add_tags(session: Session, name: str, tags: Iterable[str]) -> list[str]:
    """Tag strategy ``name`` (tags it already has are kept once); returns its tags, sorted."""
    wanted = list(dict.fromkeys(tags))
    for tag in wanted:
        validate_tag(tag)
    strategy_id = _strategy_id(session, name)
    present = set(session.scalars(select(StrategyTag.tag).where(StrategyTag.strategy_id == strategy_id)))
    session.add_all(StrategyTag(strategy_id=strategy_id, tag=tag) for tag in wanted if tag not in present)
    session.flush()
    return strategy_tags(session, name)


def remove_tags(session: Session, name: str, tags: Iterable[str]) -> list[str]:
    """Remove tags from strategy ``name`` (absent ones are ignored); returns its remaining tags, sorted."""
    strategy_id = _strategy_id(session, name)
    session.execute(
        delete(StrategyTag).where(StrategyTag.strategy_id == strategy_id, StrategyTag.tag.in_(list(tags)))
    )
    return strategy_tags(session, name)


def strategy_tags(session: Session, name: str) -> list[str]:
    """The tags of strategy ``name``, sorted; UnknownStrategyError if there is no such strategy."""
    strategy_id = _strategy_id(session, name)
    return list(
        session.scalars(
            select(StrategyTag.tag).where(StrategyTag.strategy_id == strategy_id).order_by(StrategyTag.tag)
        )
    )


def all_tags(session: Session) -> dict[str, list[str]]:
    """Every tag in use -> the names of the strategies carrying it (both sorted)."""
    rows = session.execute(
        select(StrategyTag.tag, Strategy.name)
        .join(Strategy, StrategyTag.strategy_id == Strategy.id)
        .order_by(StrategyTag.tag, Strategy.name)
    )
    result: dict[str, list[str]] = {}
    for tag, name in rows:
        result.setdefault(tag, []).append(name)
    return result


def active_versions_by_tags(session: Session, game: str, tags: Sequence[str]) -> list[StrategyVersionInfo]:
    """The current version of each strategy that plays ``game`` and carries any of ``tags``, by name.

    Tags nobody carries raise UnknownStrategyError naming them, so a typo is not an empty field.
    """
    wanted = list(dict.fromkeys(tags))
    tagged = all_tags(session)
    unknown = [tag for tag in wanted if tag not in tagged]
    if unknown:
        known = _known_list(sorted(tagged)) if tagged else "no strategy has a tag yet"
        noun = "tag" if len(unknown) == 1 else "tags"
        raise UnknownStrategyError(f"unknown {noun} {', '.join(map(repr, unknown))} (known: {known})")
    names = {name for tag in wanted for name in tagged[tag]}
    return [info for info in active_versions(session, game) if info.name in names]
