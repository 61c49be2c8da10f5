"""`tournament strategy validate` and `tournament strategy try`, run as a user runs them (a subprocess)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from tests.authoring import bad_components as bad
from tests.cli.conftest import Cli
from tests.wasm_builders import BUILD_DIR

ROUND_RESULT = "record{my-move: option<u32>, their-move: option<u32>, my-payoff: s32, their-payoff: s32}"


def written(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def no_traceback(text: str) -> None:
    assert "Traceback" not in text


# -- validate ----------------------------------------------------------------------------------------


def test_validate_a_builtin(sqlite_cli: Cli) -> None:
    result = sqlite_cli("strategy", "validate", str(BUILD_DIR / "constant.wasm"))
    lines = result.stdout.splitlines()
    assert lines[0].startswith("constant.wasm: sha256 ")
    assert lines[1] == "PASS  size            2.4 KB (cap 64 MiB)"
    assert [line[:20] for line in lines[1:8]] == [
        "PASS  size          ",
        "PASS  compiles      ",
        "PASS  exports       ",
        "PASS  imports       ",
        "PASS  instantiates  ",
        "PASS  smoke-match   ",
        "PASS  deterministic ",
    ]
    assert lines[6] == "PASS  smoke-match     3 matches, 300 moves, fuel per move mean 9, max 9"
    assert re.fullmatch(r"valid: deterministic; fuel per move mean 9, max 9; instantiate [\d.]+ ms", lines[8])


def test_validate_shows_expected_and_found_and_exits_1(sqlite_cli: Cli, tmp_path: Path) -> None:
    component = written(tmp_path, "wrong.wasm", bad.wrong_signature(tmp_path / "build"))
    result = sqlite_cli("strategy", "validate", component, expect=1)
    assert (
        f"FAIL  exports         export next-move has the wrong signature: expected func(last: "
        f"option<{ROUND_RESULT}>) -> u32, found func(last: option<{ROUND_RESULT}>) -> s64"
    ) in result.stdout.splitlines()
    assert "SKIP  instantiates    skipped: exports failed" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "rejected: 1 check failed (exports)"
    no_traceback(result.stderr)


def test_validate_names_forbidden_imports(sqlite_cli: Cli, tmp_path: Path) -> None:
    component = written(tmp_path, "sneaky.wasm", bad.two_forbidden_imports(tmp_path / "build"))
    result = sqlite_cli("strategy", "validate", component, expect=1)
    assert (
        "FAIL  imports         imports outside the allow-list: "
        "wasi:random/insecure@0.2.0, wasi:random/random@0.2.0"
    ) in result.stdout.splitlines()


def test_validate_allow_wasi_marks_non_deterministic(sqlite_cli: Cli, tmp_path: Path) -> None:
    component = written(tmp_path, "dice.wasm", bad.wasi_random(tmp_path / "build"))
    lines = sqlite_cli("strategy", "validate", component, "--allow-wasi").stdout.splitlines()
    assert lines[7].startswith(
        "PASS  deterministic   marked non-deterministic (imports wasi:random/random@0.2.0)"
    )
    assert lines[8].startswith("valid: non-deterministic (imports WASI); fuel per move mean ")


def test_validate_json(sqlite_cli: Cli, tmp_path: Path) -> None:
    trapping = bad.playing(
        tmp_path / "build", "local.get $r i32.const 12 i32.eq (if (then unreachable)) i32.const 1"
    )
    result = sqlite_cli("strategy", "validate", written(tmp_path, "t.wasm", trapping), "--json", expect=1)
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert report["content_hash"] == hashlib.sha256(trapping).hexdigest()
    assert [(c["name"], c["status"]) for c in report["checks"]][-2:] == [
        ("smoke-match", "fail"),
        ("deterministic", "skip"),
    ]
    assert report["checks"][5]["detail"] == (
        "vs constant (rps): trap at round 12: wasm `unreachable` instruction executed"
    )


def test_validate_in_process_rejects_a_core_module(sqlite_cli: Cli, tmp_path: Path) -> None:
    component = written(tmp_path, "core.wasm", bad.core_module())
    result = sqlite_cli("strategy", "validate", component, "--no-isolation", "--game", "rps,ipd", expect=1)
    assert (
        "FAIL  compiles        a core WebAssembly module, not a component "
        "(wrap it with `wasm-tools component new`)"
    ) in result.stdout.splitlines()


def test_validate_bad_usage_is_one_line_and_exit_2(sqlite_cli: Cli, tmp_path: Path) -> None:
    missing = sqlite_cli("strategy", "validate", "missing.wasm", expect=2)
    assert missing.stderr == "error: no such file: missing.wasm\n"
    assert missing.stdout == ""
    game = sqlite_cli("strategy", "validate", str(BUILD_DIR / "constant.wasm"), "--game", "chess", expect=2)
    assert game.stderr == "error: unknown game 'chess' (known: ipd, rps, rpsls)\n"
    folder = sqlite_cli("strategy", "validate", str(tmp_path), expect=2)
    assert folder.stderr == f"error: not a file: {tmp_path}\n"


# -- try ---------------------------------------------------------------------------------------------


def test_try_prints_a_summary_per_opponent(sqlite_cli: Cli) -> None:
    result = sqlite_cli(
        "strategy",
        "try",
        str(BUILD_DIR / "iocaine-powder.wasm"),
        "--vs",
        "rotate,constant",
        "--rounds",
        "300",
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "iocaine-powder.wasm vs 2 opponent(s): rps, 300 rounds, seed 0"
    rows = {line.split()[1]: line for line in lines if line.startswith("│")}
    assert set(rows) == {"rotate", "constant"}
    assert re.search(r"│\s+\d+/\d+/\d+ │\s+\d+:-\d+ │ win\s+│ 0\s+│ 0\s+│", rows["rotate"])
    assert "Traceback" not in result.stderr


def test_try_trace_shows_rounds_forfeits_and_log_lines(sqlite_cli: Cli, tmp_path: Path) -> None:
    chatty = bad.logging(tmp_path / "build", every=2)
    trapping = written(tmp_path, "chatty.wasm", chatty)
    lines = sqlite_cli("strategy", "try", trapping, "--vs", "constant", "--rounds", "4", "--trace").stdout
    trace = lines[lines.index("chatty vs constant") :].splitlines()
    assert trace[1] == " round  mine       theirs      payoff       score  notes"
    assert trace[2:6] == [
        "     0  paper      rock         +1:-1        1:-1",
        "     1  paper      rock         +1:-1        2:-2",
        "     2  paper      rock         +1:-1        3:-3",
        "     3  paper      rock         +1:-1        4:-4",
    ]
    assert trace[6:] == ["log lines from chatty: 2", "  [round 0] hello", "  [round 2] hello"]


def test_try_shows_the_first_forfeit(sqlite_cli: Cli, tmp_path: Path) -> None:
    trapping = bad.playing(
        tmp_path / "build", "local.get $r i32.const 2 i32.eq (if (then unreachable)) i32.const 1"
    )
    result = sqlite_cli(
        "strategy",
        "try",
        written(tmp_path, "t.wasm", trapping),
        "--vs",
        "constant",
        "--rounds",
        "5",
        "--trace",
    )
    assert "3 (first: trap: wasm `unreachable` instruction executed)" in result.stdout
    assert "     2  -          rock         -1:+1        1:-1  my forfeit: trap" in result.stdout
    assert "my first forfeit: trap: wasm `unreachable` instruction executed" in result.stdout


def test_try_iocaine_powder_logs_at_round_100(sqlite_cli: Cli) -> None:
    result = sqlite_cli(
        "strategy",
        "try",
        str(BUILD_DIR / "iocaine-powder.wasm"),
        "--vs",
        "rotate",
        "--rounds",
        "101",
        "--trace",
    )
    assert "log lines from iocaine-powder: 1" in result.stdout
    assert "  [round 100] " in result.stdout


def test_try_against_a_submitted_strategy_reads_without_writing(sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli.add_strategy("paper-only", bad.playing(tmp_path / "build", "i32.const 1"))
    database = Path(sqlite_cli.db_url.removeprefix("sqlite:///"))
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    result = sqlite_cli(
        "strategy", "try", str(BUILD_DIR / "rotate.wasm"), "--vs", "paper-only", "--rounds", "9"
    )
    assert "paper-only (submitted 1.0.0)" in result.stdout
    assert "3/3/3" in result.stdout
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_try_unknown_opponent_lists_known_names(sqlite_cli: Cli, tmp_path: Path) -> None:
    result = sqlite_cli(
        "strategy", "try", str(BUILD_DIR / "rotate.wasm"), "--vs", "nobody,tit-for-tat", expect=2
    )
    assert result.stderr.startswith("error: unknown strategies 'nobody', 'tit-for-tat' for rps (known: ")
    assert "iocaine-powder" in result.stderr
    assert result.stderr.endswith("; 'tit-for-tat' plays ipd, not rps\n")
    assert result.stderr.count("\n") == 1
    assert not Path(sqlite_cli.db_url.removeprefix("sqlite:///")).exists()  # looked, created nothing


def test_try_bad_input(sqlite_cli: Cli, tmp_path: Path) -> None:
    rotate = str(BUILD_DIR / "rotate.wasm")
    rounds = sqlite_cli("strategy", "try", rotate, "--vs", "constant", "--rounds", "0", expect=2)
    assert rounds.stderr == "error: --rounds must be between 1 and 1,000,000, got 0\n"
    junk = sqlite_cli(
        "strategy", "try", written(tmp_path, "junk.wasm", b"junk"), "--vs", "constant", expect=1
    )
    assert junk.stderr == "error: junk cannot play: not a WebAssembly binary (missing the \\0asm header)\n"
