"""Sizes: the size check (it needs no engine, so the isolated validator runs it before spawning anything)
and human-readable units: component sizes in decimal units, caps in binary units."""

from __future__ import annotations

from tournament.authoring.report import CheckResult, CheckStatus


def check_size(size: int, cap: int) -> CheckResult:
    """The `size` check: PASS `2.4 KB (cap 64 MiB)` or FAIL with both sizes in bytes."""
    if size > cap:
        detail = f"{decimal_size(size)} is over the {binary_size(cap)} cap ({size:,} > {cap:,} bytes)"
        return CheckResult("size", CheckStatus.FAIL, detail)
    return CheckResult("size", CheckStatus.PASS, f"{decimal_size(size)} (cap {binary_size(cap)})")


def decimal_size(n: int) -> str:
    """`512 bytes`, `2.4 KB`, `18.8 MB`: how file managers and `ls -h --si` show a file."""
    if n < 1000:
        return f"{n} bytes"
    value = n / 1000
    for unit in ("KB", "MB"):
        if round(value, 1) < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def binary_size(n: int) -> str:
    """`64 MiB`, `4 GiB`, `1.5 KiB`, `1000 bytes`: how limits are configured."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
