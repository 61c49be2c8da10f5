"""Submitting, retiring and inspecting strategies: the one registry core behind the CLI and the HTTP API.

A submission is stored as a 'validating' version first (committed, so it is visible while validation
runs), then validated outside any transaction, then moved to 'active' or 'rejected' with its report. The
newest active version is what every tournament created afterwards picks; tournaments already created keep
the versions they snapshotted. Every step is written to the audit log in the transaction that makes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exc
from sqlalchemy.orm import Session

from tournament.authoring.policy import ValidationPolicy
from tournament.authoring.report import ValidationReport
from tournament.authoring.sizes import binary_size
from tournament.persistence import audit as audit_repo
from tournament.persistence import authors as author_repo
from tournament.persistence import strategies as strategy_repo
from tournament.persistence.audit import MAX_AUDIT_LIMIT, AuditEventInfo
from tournament.persistence.database import Database
from tournament.persistence.errors import UnknownStrategyError
from tournament.persistence.strategies import SEMVER_PATTERN, StrategyRecord, StrategyVersionInfo
from tournament.rules.games import builtin_games
from tournament.services.authors import Actor
from tournament.services.errors import InvalidRequestError

Validator = Callable[[bytes, ValidationPolicy], ValidationReport]
"""Runs every admission check on component bytes (in production: the isolated child process)."""

UNVALIDATED_WIT = "unknown"
"""The contract version stored for a version until validation finds its player export."""


class NotOwnerError(PermissionError):
    """The actor may not change this strategy: it is neither the owner nor an admin."""


class VersionConflictError(InvalidRequestError):
    """The request clashes with what is stored: a version label taken by other bytes, a built-in's name."""


class ComponentTooLargeError(InvalidRequestError):
    """The component is over the size cap; nothing is stored."""


class ValidationUnavailableError(RuntimeError):
    """Validation itself could not run (not the component's fault); the version stays 'validating'."""


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """What a submission did: stored an active version, stored a rejected one, or nothing (same bytes)."""

    outcome: str
    """'stored' | 'rejected' | 'identical'."""
    message: str
    """One line for people: `stored NAME 1.0.1 (active)`, `rejected: ...`, `identical to ...`."""
    version: StrategyVersionInfo
    report: ValidationReport | None
    """The validation report (for 'identical': the stored one, None if the version has none)."""
    rejection_reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "message": self.message,
            "strategy": self.version.name,
            "version": _version_summary(self.version),
            "report": None if self.report is None else self.report.to_dict(),
            "rejection_reasons": list(self.rejection_reasons),
        }


@dataclass(frozen=True, slots=True)
class RetireResult:
    """What a retirement did, and which version future tournaments use now."""

    changed: bool
    message: str
    version: StrategyVersionInfo
    current: StrategyVersionInfo | None
    """The strategy's newest active version after the change (None: it will not be picked any more)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "message": self.message,
            "strategy": self.version.name,
            "version": _version_summary(self.version),
            "current_version": None if self.current is None else self.current.version,
        }


@dataclass(frozen=True, slots=True)
class StrategySummary:
    """One line of the strategy list: a strategy and its current version."""

    name: str
    version: str
    """The current version: the newest active one, else the newest of any state."""
    status: str
    language: str
    games: tuple[str, ...]
    owner: str | None
    size: int
    builtin: bool
    deterministic: bool
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "games": list(self.games)}


@dataclass(frozen=True, slots=True)
class VersionDetail:
    """One version as `strategy show` presents it."""

    version: str
    status: str
    current: bool
    """Whether this is the version tournaments pick now."""
    content_hash: str
    size: int
    language: str
    wit_version: str
    deterministic: bool
    created_at: datetime
    report: dict[str, Any] | None
    """The stored validation report (ValidationReport.to_dict()); None for built-ins."""
    rejection_reasons: tuple[str, ...]

    @property
    def parsed_report(self) -> ValidationReport | None:
        """The report as an object (None if there is none or it was written in an unknown format)."""
        return parse_report(self.report)

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "created_at": self.created_at.isoformat(),
            "rejection_reasons": list(self.rejection_reasons),
        }


@dataclass(frozen=True, slots=True)
class StrategyDetail:
    """A strategy with every version, its state, report and rejection reasons (newest first)."""

    name: str
    description: str
    games: tuple[str, ...]
    builtin: bool
    owner: str | None
    created_at: datetime
    current_version: str | None
    versions: tuple[VersionDetail, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "games": list(self.games),
            "builtin": self.builtin,
            "owner": self.owner,
            "created_at": self.created_at.isoformat(),
            "current_version": self.current_version,
            "versions": [version.to_dict() for version in self.versions],
        }


def _version_summary(info: StrategyVersionInfo) -> dict[str, Any]:
    return {
        "version": info.version,
        "status": info.status,
        "content_hash": info.content_hash,
        "size": info.size,
        "language": info.language,
        "wit_version": info.wit_version,
        "deterministic": info.deterministic,
    }


def _check_games(games: Sequence[str]) -> tuple[str, ...]:
    known = builtin_games()
    unknown = [game for game in games if game not in known]
    if unknown:
        raise InvalidRequestError(
            f"unknown game{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(known)})"
        )
    return tuple(dict.fromkeys(games))


def _check_may_manage(actor: Actor, record: StrategyRecord, what: str) -> None:
    if actor.is_admin or (record.owner_id is not None and record.owner_id == actor.author_id):
        return
    if record.builtin:
        raise NotOwnerError(f"only the operator or an admin may {what} built-in strategy {record.name!r}")
    owner = f"owned by {record.owner!r}" if record.owner else "not owned by any author"
    raise NotOwnerError(f"{actor.name!r} may not {what} {record.name!r}: it is {owner}")


def _semver_core(label: str) -> tuple[int, int, int]:
    match = SEMVER_PATTERN.match(label)
    if match is None:
        return (0, 0, 0)
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def next_version(labels: Sequence[str]) -> str:
    """The next patch after the highest stored version (1.0.0 for the first), skipping labels in use."""
    if not labels:
        return "1.0.0"
    major, minor, patch = max(_semver_core(label) for label in labels)
    taken = set(labels)
    while True:
        patch += 1
        label = f"{major}.{minor}.{patch}"
        if label not in taken:
            return label


def parse_report(data: dict[str, Any] | None) -> ValidationReport | None:
    """A stored report as an object (None if there is none or it was written in an unknown format)."""
    if data is None:
        return None
    try:
        return ValidationReport.from_dict(data)
    except ValueError:
        return None


def _identical(name: str, same: StrategyVersionInfo, report: ValidationReport | None) -> SubmissionResult:
    return SubmissionResult(
        outcome="identical",
        message=f"identical to version {same.version} of {name} (state {same.status}): nothing stored",
        version=same,
        report=report,
        rejection_reasons=tuple(report.failures()) if report is not None and not report.passed else (),
    )


@dataclass(frozen=True, slots=True)
class _Stored:
    """The outcome of the store step: a version to validate, or the no-op answer for identical bytes."""

    version: StrategyVersionInfo | None = None
    identical: SubmissionResult | None = None


def _store(
    session: Session,
    data: bytes,
    digest: str,
    *,
    name: str,
    version: str | None,
    description: str | None,
    games: tuple[str, ...],
    language: str | None,
    actor: Actor,
    owner: str | None,
) -> _Stored:
    record = strategy_repo.find_strategy(session, name)
    owner_id: int | None = actor.author_id
    labels: list[str] = []
    if record is not None:
        if record.builtin:
            raise VersionConflictError(f"{name!r} is a built-in strategy; choose another name")
        _check_may_manage(actor, record, "submit versions of")
        if owner is not None and owner != record.owner:
            held = f"owned by {record.owner!r}" if record.owner else "has no owner"
            raise InvalidRequestError(
                f"{name!r} already exists and {held}; an owner can only be chosen for a new strategy"
            )
        versions = strategy_repo.strategy_versions(session, name)
        same = next((v for v in versions if v.content_hash == digest), None)
        if same is not None:
            if same.status == "validating":
                return _Stored(version=same)
            report = parse_report(strategy_repo.validation_report(session, same.version_id))
            return _Stored(identical=_identical(name, same, report))
        labels = [v.version for v in versions]
        games = games or record.games
        language = language or versions[0].language
        description = record.description if description is None else description
    elif owner is not None:
        if not actor.is_admin and owner != actor.name:
            raise NotOwnerError(f"{actor.name!r} may not submit a strategy on behalf of {owner!r}")
        owner_id = author_repo.author_by_name(session, owner).id
    label = version if version is not None else next_version(labels)
    if label in labels:
        raise VersionConflictError(
            f"{name} already has a version {label} with different bytes; submit under a new version "
            f"(the next free one is {next_version(labels)})"
        )
    if record is None:
        # Inserted on its own first: a concurrent creator of the same name makes this fail (and retry)
        # rather than letting this submission join a strategy it never checked the owner of.
        strategy_repo.create_strategy(
            session, name, description=description or "", games=games or ("rps",), owner_id=owner_id
        )
    info = strategy_repo.add_version(
        session,
        name=name,
        data=data,
        version=label,
        language=language or "unknown",
        games=games or ("rps",),
        description=description or "",
        deterministic=False,
        wit_version=UNVALIDATED_WIT,
        status="validating",
    )
    audit_repo.record_event(
        session,
        "submitted",
        actor.name,
        strategy_id=info.strategy_id,
        version_id=info.version_id,
        detail={
            "version": label,
            "content_hash": digest,
            "size": len(data),
            "games": list(info.games),
            "language": info.language,
            "new_strategy": record is None,
        },
    )
    return _Stored(version=info)


def submit_strategy(
    db: Database,
    data: bytes,
    *,
    name: str,
    version: str | None = None,
    description: str | None = None,
    games: Sequence[str] = (),
    language: str | None = None,
    actor: Actor,
    validate: Validator,
    owner: str | None = None,
    policy: ValidationPolicy | None = None,
) -> SubmissionResult:
    """Store ``data`` as a new version of strategy ``name``, validate it, and make it active or rejected.

    ``games`` defaults to the strategy's current games (``rps`` for a new one); ``version`` to the next
    patch after the highest stored one; ``owner`` (an author's name) sets the owner of a new strategy
    (default: the submitting author). ``policy`` supplies the size cap, WASI admission and limits; its
    games are replaced by the submission's. Raises InvalidStrategyError / InvalidRequestError for bad
    input, NotOwnerError, VersionConflictError, ComponentTooLargeError, and ValidationUnavailableError when
    the validator itself failed (the version then stays 'validating'; submitting the same bytes again
    resumes it).
    """
    strategy_repo.validate_name(name)
    if version is not None:
        strategy_repo.validate_version(version)
    game_list = _check_games(games)
    base = policy or ValidationPolicy()
    if len(data) > base.max_size:
        raise ComponentTooLargeError(
            f"the component is {len(data):,} bytes, over the size cap of {binary_size(base.max_size)} "
            f"({base.max_size:,} bytes)"
        )
    if not data:
        raise InvalidRequestError("the component is empty")
    digest = strategy_repo.content_hash(data)
    stored = _Stored()
    for attempt in range(2):
        try:
            with db.sessions.begin() as session:
                stored = _store(
                    session, data, digest, name=name, version=version, description=description,
                    games=game_list, language=language, actor=actor, owner=owner,
                )  # fmt: skip
            break
        except exc.IntegrityError:
            # A concurrent submission took the name or the label first: look again (once).
            if attempt == 1:
                raise VersionConflictError(
                    f"another submission changed {name} at the same time; submit again"
                ) from None
    if stored.identical is not None:
        return stored.identical
    target = stored.version
    if target is None:  # pragma: no cover - _store returns one or the other
        raise RuntimeError("submission stored nothing")
    try:
        report = validate(data, dataclasses.replace(base, games=target.games))
    except Exception as error:
        raise ValidationUnavailableError(
            f"validation could not run ({error}); {name} {target.version} stays 'validating': "
            "submit the same file again to retry"
        ) from error
    return _record_outcome(db, target, report, actor)


def _record_outcome(
    db: Database, target: StrategyVersionInfo, report: ValidationReport, actor: Actor
) -> SubmissionResult:
    status = "active" if report.passed else "rejected"
    reasons = tuple(report.failures())
    deterministic = bool(report.deterministic) and not report.uses_wasi
    with db.sessions.begin() as session:
        previous = strategy_repo.version_by_id(session, target.version_id).status
        info = strategy_repo.record_validation(
            session,
            target.version_id,
            status=status,
            report=report.to_dict(),
            rejection_reasons=reasons,
            wit_version=report.wit_version,
            deterministic=deterministic,
        )
        audit_repo.record_event(
            session,
            "validated",
            actor.name,
            strategy_id=info.strategy_id,
            version_id=info.version_id,
            detail={
                "version": info.version,
                "passed": report.passed,
                "failures": list(reasons),
                "fuel_mean": report.fuel_mean,
                "fuel_max": report.fuel_max,
                "instantiate_ms": report.instantiate_ms,
                "deterministic": deterministic,
            },
        )
        audit_repo.record_event(
            session,
            "state-changed",
            actor.name,
            strategy_id=info.strategy_id,
            version_id=info.version_id,
            detail={"version": info.version, "from": previous, "to": status},
        )
    if report.passed:
        message = f"stored {info.name} {info.version} (active)"
        return SubmissionResult("stored", message, info, report)
    message = f"rejected: {info.name} {info.version} failed validation: {'; '.join(reasons)}"
    return SubmissionResult("rejected", message, info, report, reasons)


def retire(db: Database, name: str, version: str | None = None, *, actor: Actor) -> RetireResult:
    """Retire one version of ``name`` (default: the current one); it is never picked for a tournament again.

    Tournaments that already include it keep playing it. Retiring an already retired version changes
    nothing and says so; a version still being validated cannot be retired.
    """
    with db.sessions.begin() as session:
        record = strategy_repo.find_strategy(session, name)
        if record is None:
            raise UnknownStrategyError(f"unknown strategy {name!r}", (name,))
        _check_may_manage(actor, record, "retire")
        versions = strategy_repo.strategy_versions(session, name)
        if version is None:
            target = next((v for v in versions if v.status == "active"), None)
            if target is None:
                raise InvalidRequestError(f"{name} has no active version to retire")
        else:
            target = next((v for v in versions if v.version == version), None)
            if target is None:
                known = ", ".join(v.version for v in versions)
                raise UnknownStrategyError(f"{name} has no version {version} (versions: {known})", (name,))
        if target.status == "retired":
            current = next((v for v in versions if v.status == "active"), None)
            return RetireResult(False, f"{name} {target.version} is already retired", target, current)
        if target.status == "validating":
            raise InvalidRequestError(
                f"{name} {target.version} is still being validated; retire it once it is active or rejected"
            )
        retired = strategy_repo.set_version_status(session, target.version_id, "retired")
        audit_repo.record_event(
            session,
            "state-changed",
            actor.name,
            strategy_id=record.id,
            version_id=target.version_id,
            detail={"version": target.version, "from": target.status, "to": "retired"},
        )
        current = next(
            (v for v in versions if v.status == "active" and v.version_id != target.version_id), None
        )
    if current is None:
        message = f"retired {name} {target.version}; no active version left: no new tournament picks {name}"
    else:
        message = f"retired {name} {target.version}; new tournaments use {name} {current.version}"
    return RetireResult(True, message, retired, current)


def list_strategies(db: Database) -> list[StrategySummary]:
    """Every strategy with its current version and owner, by name."""
    with db.sessions() as session:
        current = strategy_repo.list_strategies(session)
        owners = strategy_repo.strategy_owners(session)
    return [
        StrategySummary(
            name=info.name,
            version=info.version,
            status=info.status,
            language=info.language,
            games=info.games,
            owner=owners.get(info.name),
            size=info.size,
            builtin=info.builtin,
            deterministic=info.deterministic,
            description=info.description,
        )
        for info in current
    ]


def show_strategy(db: Database, name: str) -> StrategyDetail:
    """A strategy with all its versions, states, reports and rejection reasons (newest first)."""
    with db.sessions() as session:
        record = strategy_repo.find_strategy(session, name)
        if record is None:
            raise UnknownStrategyError(f"unknown strategy {name!r}", (name,))
        rows = strategy_repo.version_records(session, record.id)
    current = next((row for row in rows if row.status == "active"), None)
    versions = tuple(
        VersionDetail(
            version=row.version,
            status=row.status,
            current=current is not None and row.version_id == current.version_id,
            content_hash=row.content_hash,
            size=row.size,
            language=row.language,
            wit_version=row.wit_version,
            deterministic=row.deterministic,
            created_at=row.created_at,
            report=row.validation_report,
            rejection_reasons=row.rejection_reasons,
        )
        for row in rows
    )
    return StrategyDetail(
        name=record.name,
        description=record.description,
        games=record.games,
        builtin=record.builtin,
        owner=record.owner,
        created_at=record.created_at,
        current_version=None if current is None else current.version,
        versions=versions,
    )


def audit_log(db: Database, strategy: str | None = None, limit: int = 50) -> list[AuditEventInfo]:
    """The newest audit events (of one strategy, if named), newest first."""
    if not 1 <= limit <= MAX_AUDIT_LIMIT:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_AUDIT_LIMIT}, got {limit}")
    with db.sessions() as session:
        strategy_id = None
        if strategy is not None:
            record = strategy_repo.find_strategy(session, strategy)
            if record is None:
                raise UnknownStrategyError(f"unknown strategy {strategy!r}", (strategy,))
            strategy_id = record.id
        return audit_repo.list_events(session, strategy_id=strategy_id, limit=limit)
