"""The registry through the real `tournament` command: author, submit, list, show, retire, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

from .conftest import Components


@pytest.fixture
def files(components: Components, tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name in ("cycle", "paper", "illegal"):
        paths[name] = tmp_path / f"{name}.wasm"
        paths[name].write_bytes(components[name])
    return paths


@pytest.mark.slow
def test_submit_list_show_retire_and_audit(db_url: str, files: dict[str, Path]) -> None:
    cli = Cli(db_url)
    token = cli("author", "add", "alice").stdout.strip()
    assert token.startswith("tsk_")

    stored = cli("strategy", "submit", str(files["cycle"]), "--name", "cycler", "--author", "alice",
                 "--language", "wat", "--games", "rps,rpsls")  # fmt: skip
    lines = stored.stdout.splitlines()
    assert lines[0].startswith("PASS  size ")
    assert any(line.startswith("PASS  smoke-match ") for line in lines)
    assert lines[-1] == "stored cycler 1.0.0 (active)"

    same = cli("strategy", "submit", str(files["cycle"]), "--name", "cycler")
    assert same.stdout.strip() == "identical to version 1.0.0 of cycler (state active): nothing stored"

    rejected = cli("strategy", "submit", str(files["illegal"]), "--name", "cycler", "--json", expect=1)
    outcome = json.loads(rejected.stdout)
    assert outcome["outcome"] == "rejected"
    assert outcome["message"].startswith("rejected: cycler 1.0.1 failed validation: smoke-match: vs ")
    size = files["illegal"].stat().st_size
    assert outcome["version"] | {"content_hash": None} == {
        "version": "1.0.1", "status": "rejected", "content_hash": None, "size": size, "language": "wat",
        "wit_version": "1.0.0", "deterministic": False,
    }  # fmt: skip

    listed = {row["name"]: row for row in cli.json("strategy", "list")}
    cycler = {key: listed["cycler"][key] for key in ("version", "status", "owner", "language", "games")}
    assert cycler == {"version": "1.0.0", "status": "active", "owner": "alice", "language": "wat",
                      "games": ["rps", "rpsls"]}  # fmt: skip
    assert (listed["rotate"]["builtin"], listed["rotate"]["owner"]) == (True, None)

    shown = cli("strategy", "show", "cycler").stdout
    assert "cycler  (owner alice; plays rps, rpsls)" in shown
    assert "current version: 1.0.0" in shown
    assert "1.0.1 rejected: smoke-match: vs " in shown

    retired = cli("strategy", "retire", "cycler@1.0.0")
    assert (
        retired.stdout.strip()
        == "retired cycler 1.0.0; no active version left: no new tournament picks cycler"
    )

    events = cli.json("audit", "--strategy", "cycler", "--limit", "4")
    assert [(e["kind"], e["version"], e["actor"]) for e in events] == [
        ("state-changed", "1.0.0", "cli"), ("state-changed", "1.0.1", "cli"), ("validated", "1.0.1", "cli"),
        ("submitted", "1.0.1", "cli"),
    ]  # fmt: skip
    assert events[0]["detail"] == {"version": "1.0.0", "from": "active", "to": "retired"}
    assert events[1]["detail"] == {"version": "1.0.1", "from": "validating", "to": "rejected"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("strategy", "submit", "{cycle}", "--name", "Bad_Name"), "error: invalid strategy name 'Bad_Name'"),
        (("strategy", "submit", "{cycle}", "--name", "x", "--author", "zed"), "error: unknown author 'zed'"),
        (("strategy", "submit", "{cycle}", "--name", "rotate"), "error: 'rotate' is a built-in strategy"),
        (("strategy", "submit", "{missing}", "--name", "x"), "error: cannot read "),
        (("strategy", "retire", "nope@1.0.0"), "error: unknown strategy 'nope'"),
        (("audit", "--limit", "0"), "error: limit must be between 1 and 1000, got 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    sqlite_registry_cli: Cli, files: dict[str, Path], args: tuple[str, ...], message: str
) -> None:
    paths = {"cycle": str(files["cycle"]), "missing": str(files["cycle"].with_name("missing.wasm"))}
    result = sqlite_registry_cli(*(arg.format(**paths) for arg in args), expect=2)
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def sqlite_registry_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One database for the bad-input cases: none of them may change it."""
    return Cli(f"sqlite:///{tmp_path_factory.mktemp('cli') / 'registry.db'}")
