"""The result of validating a component: one line per admission check, plus its measured profile.

Reports travel as JSON (from the isolated validation process, into the database, over HTTP), so they
round-trip through `to_dict` / `from_dict` exactly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

CHECKS = ("size", "compiles", "exports", "imports", "instantiates", "smoke-match", "deterministic")
"""The admission checks, in the order they run and are shown."""

DEPENDS: dict[str, tuple[str, ...]] = {
    "size": (),
    "compiles": ("size",),
    "exports": ("compiles",),
    "imports": ("compiles",),
    "instantiates": ("exports", "imports"),
    "smoke-match": ("instantiates",),
    "deterministic": ("smoke-match",),
}
"""The checks each check needs to have passed before it can run."""

_T = TypeVar("_T")


class CheckStatus(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    """Not run because a check it depends on failed."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    """One of CHECKS."""
    status: CheckStatus
    detail: str
    """One line: what was measured on a pass, the reason on a failure, the blocking check on a skip."""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": str(self.status), "detail": self.detail}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        name, status, detail = data.get("name"), data.get("status"), data.get("detail")
        if name not in CHECKS or not isinstance(detail, str) or not isinstance(status, str):
            raise ValueError(f"malformed check result: {dict(data)!r}")
        try:
            return cls(name, CheckStatus(status), detail)
        except ValueError:
            raise ValueError(f"malformed check status: {status!r}") from None


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Everything validation learned about one component (identified by its content hash)."""

    content_hash: str
    size: int
    checks: tuple[CheckResult, ...]
    wit_version: str | None
    """The contract version of the player export, when one was found."""
    deterministic: bool | None
    """None when the determinism check did not run; False for admitted WASI components."""
    uses_wasi: bool
    fuel_mean: float | None
    """Mean fuel per move over the smoke matches, when they ran."""
    fuel_max: int | None
    instantiate_ms: float | None
    """Mean wall-clock time to create a fresh instance and run `begin`."""

    @property
    def passed(self) -> bool:
        return all(check.status is not CheckStatus.FAIL for check in self.checks)

    def failures(self) -> list[str]:
        """One line per failed check: `exports: missing export begin: expected ...`."""
        return [f"{check.name}: {check.detail}" for check in self.checks if check.status is CheckStatus.FAIL]

    def check(self, name: str) -> CheckResult:
        """The result of one check; KeyError for a name that is not in the report."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def to_dict(self) -> dict[str, object]:
        return {
            "content_hash": self.content_hash,
            "size": self.size,
            "passed": self.passed,
            "checks": [check.to_dict() for check in self.checks],
            "wit_version": self.wit_version,
            "deterministic": self.deterministic,
            "uses_wasi": self.uses_wasi,
            "fuel_mean": self.fuel_mean,
            "fuel_max": self.fuel_max,
            "instantiate_ms": self.instantiate_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationReport:
        """The inverse of `to_dict` (`passed` is derived, so it is ignored); ValueError if malformed."""
        try:
            checks = data["checks"]
            if not isinstance(checks, list):
                raise ValueError("checks must be a list")
            report = cls(
                content_hash=_typed(data["content_hash"], str),
                size=_typed(data["size"], int),
                checks=tuple(CheckResult.from_dict(check) for check in checks),
                wit_version=_optional(data.get("wit_version"), str),
                deterministic=_optional(data.get("deterministic"), bool),
                uses_wasi=_typed(data.get("uses_wasi", False), bool),
                fuel_mean=_number(data.get("fuel_mean")),
                fuel_max=_optional(data.get("fuel_max"), int),
                instantiate_ms=_number(data.get("instantiate_ms")),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed validation report: {error}") from None
        return report


def _typed(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value


def _optional(value: object, kind: type[_T]) -> _T | None:
    return None if value is None else _typed(value, kind)


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def skip_reason(name: str, results: Mapping[str, CheckResult]) -> str | None:
    """`skipped: exports and imports failed` when a check `name` depends on failed, else None."""
    blockers = _blockers(name, results)
    return f"skipped: {' and '.join(blockers)} failed" if blockers else None


def _blockers(name: str, results: Mapping[str, CheckResult]) -> list[str]:
    """The failed checks that `name` depends on, directly or through skipped or missing ones."""
    blockers: list[str] = []
    for dependency in DEPENDS[name]:
        result = results.get(dependency)
        if result is None or result.status is CheckStatus.SKIP:
            blockers.extend(b for b in _blockers(dependency, results) if b not in blockers)
        elif result.status is CheckStatus.FAIL:
            blockers.append(dependency)
    return blockers


def completed_report(content_hash: str, size: int, done: list[CheckResult]) -> ValidationReport:
    """A report from the checks that ran; every other check is a SKIP naming what blocked it."""
    results = {check.name: check for check in done}
    for name in CHECKS:
        if name not in results:
            detail = skip_reason(name, results) or "skipped: validation did not finish"
            results[name] = CheckResult(name, CheckStatus.SKIP, detail)
    return ValidationReport(
        content_hash=content_hash,
        size=size,
        checks=tuple(results[name] for name in CHECKS),
        wit_version=None,
        deterministic=None,
        uses_wasi=False,
        fuel_mean=None,
        fuel_max=None,
        instantiate_ms=None,
    )


def unfinished_report(content_hash: str, size: int, done: list[CheckResult], reason: str) -> ValidationReport:
    """The report of a validation that died: the first check that did not finish fails with `reason`."""
    finished = {check.name for check in done}
    failing = next((name for name in CHECKS if name not in finished), CHECKS[-1])
    failed = CheckResult(failing, CheckStatus.FAIL, reason)
    return completed_report(content_hash, size, [*(c for c in done if c.name != failing), failed])
