"""The coordinator and its workers keep freed heap instead of trimming it (see `orchestration.heap`)."""

from __future__ import annotations

import platform
import sys

import pytest

from tournament.orchestration.heap import keep_freed_heap


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only"
)
def test_glibc_takes_the_trim_threshold() -> None:
    assert keep_freed_heap() is True
    assert keep_freed_heap() is True  # idempotent: every run sets it again
