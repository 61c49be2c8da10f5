"""A validation report as text lines, shared by `strategy validate`, `strategy submit` and `strategy show`."""

from __future__ import annotations

from tournament.authoring.report import CheckResult, ValidationReport

NAME_WIDTH = max(len("smoke-match"), len("deterministic")) + 2


def check_line(check: CheckResult) -> str:
    """`PASS  size           2.4 KB (cap 64 MiB)`."""
    return f"{str(check.status).upper():5} {check.name:{NAME_WIDTH}} {check.detail}"


def summary_line(report: ValidationReport) -> str:
    """`valid: deterministic; fuel per move mean 33,104, max 48,212; instantiate 0.41 ms` (or why not)."""
    if not report.passed:
        failed = [line.split(":", 1)[0] for line in report.failures()]
        noun = "check" if len(failed) == 1 else "checks"
        return f"rejected: {len(failed)} {noun} failed ({', '.join(failed)})"
    parts = ["deterministic" if report.deterministic else "non-deterministic (imports WASI)"]
    if report.fuel_mean is not None and report.fuel_max is not None:
        parts.append(f"fuel per move mean {report.fuel_mean:,.0f}, max {report.fuel_max:,}")
    if report.instantiate_ms is not None:
        parts.append(f"instantiate {report.instantiate_ms:.2f} ms")
    return "valid: " + "; ".join(parts)


def report_lines(report: ValidationReport) -> list[str]:
    """One line per check, then the summary."""
    return [*(check_line(check) for check in report.checks), summary_line(report)]
