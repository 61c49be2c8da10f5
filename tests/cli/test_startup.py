"""`tournament --help` stays fast: it must not import the heavy libraries that only commands need.

Checked by inspecting `sys.modules` of a fresh interpreter after the help ran, never by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# rich: the help is Click's plain text (Typer's Rich help imports rich.markdown, markdown_it and pygments);
# pydantic: Typer coerces parameter values with it, and help must not need any value coerced.
HEAVY = (
    "sqlalchemy",
    "wasmtime",
    "fastapi",
    "alembic",
    "anyio",
    "uvicorn",
    "distributed",
    "rich",
    "pydantic",
)
PROBE = """
import contextlib, io, json, sys
args = json.loads(sys.argv[1])
sys.argv = ["tournament", *args]
from tournament.cli.app import main
try:
    with contextlib.redirect_stdout(io.StringIO()):
        main()
except SystemExit as stop:
    if stop.code not in (0, None):
        raise
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", "--help"], ["strategy", "--help"], ["strategy", "validate", "--help"]],
    ids=" ".join,
)
def test_help_imports_no_heavy_module(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "typer" in imported, "the probe did not run the CLI"
    assert sorted(imported.intersection(HEAVY)) == []
