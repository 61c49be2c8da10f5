"""Every admission check, passing and failing, with the exact reason an author is shown.

Real components throughout: the built-ins, and purpose-built bad ones from `bad_components`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.authoring import bad_components as bad
from tests.wasm_builders import BUILD_DIR
from tournament.authoring.builtins import DEFAULT_MANIFEST
from tournament.authoring.report import CheckResult, completed_report, unfinished_report
from tournament.authoring.report_text import report_lines
from tournament.authoring.validation import (
    CHECKS,
    CheckStatus,
    ValidationPolicy,
    ValidationReport,
    ValidationSetupError,
    validate_component,
)
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.runtime import SandboxRuntime

TIGHT = SandboxLimits(fuel_per_move=200_000, setup_fuel=2_000_000, timeout_ms=1_000, memory_bytes=8 << 20)
ROUND_RESULT = "record{my-move: option<u32>, their-move: option<u32>, my-payoff: s32, their-payoff: s32}"
MATCH_SETUP = (
    "record{game: string, moves: list<string>, rounds: option<u32>, seed: u64, opponent: u64, "
    f"history: list<{ROUND_RESULT}>, first-round: u32}}"
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[SandboxRuntime]:
    """The default artifact cache: the Python built-in compiles once per machine, not once per run."""
    with SandboxRuntime() as shared:
        yield shared


def validate(data: bytes, runtime: SandboxRuntime, **policy: object) -> ValidationReport:
    return validate_component(data, ValidationPolicy(**policy), runtime=runtime)  # type: ignore[arg-type]


def statuses(report: ValidationReport) -> dict[str, str]:
    return {check.name: str(check.status) for check in report.checks}


def only_failure(report: ValidationReport, name: str) -> str:
    """The detail of the one failed check, after asserting it is `name` and everything after is skipped."""
    failed = [check for check in report.checks if check.status is CheckStatus.FAIL]
    assert [check.name for check in failed] == [name], report.failures()
    assert not report.passed
    return failed[0].detail


def builtin(name: str) -> bytes:
    return (BUILD_DIR / f"{name}.wasm").read_bytes()


# -- passing components ------------------------------------------------------------------------------


def test_a_c_builtin_passes_every_check(runtime: SandboxRuntime) -> None:
    report = validate(builtin("constant"), runtime)
    assert report.passed
    assert [check.name for check in report.checks] == list(CHECKS)
    assert set(statuses(report).values()) == {"pass"}
    assert report.check("size").detail == "2.4 KB (cap 64 MiB)"
    assert (
        report.check("exports").detail
        == "tournament:strategy/player@1.0.0 (begin, next-move as in the contract)"
    )
    assert report.check("imports").detail == "only the contract: tournament:strategy/types@1.0.0"
    assert report.check("smoke-match").detail == "3 matches, 300 moves, fuel per move mean 9, max 9"
    assert report.check("deterministic").detail == "same moves twice from the same seed"
    assert (report.deterministic, report.uses_wasi, report.wit_version) == (True, False, "1.0.0")
    assert report.fuel_mean == pytest.approx(8.99)  # the first move (no previous round) is cheaper
    assert report.fuel_max == 9
    assert report.instantiate_ms is not None
    assert report.instantiate_ms > 0


def test_the_python_builtin_passes_with_its_fuel_profile(runtime: SandboxRuntime) -> None:
    component = builtin("beat-frequent")
    report = validate(component, runtime)
    assert report.passed, report.failures()
    # The exact size depends on the build (componentize-py embeds paths of the machine that built it).
    size = re.fullmatch(r"(\d+\.\d) MB \(cap 64 MiB\)", report.check("size").detail)
    assert size is not None, report.check("size").detail
    assert float(size.group(1)) == pytest.approx(len(component) / 1e6, abs=0.05)
    assert re.fullmatch(
        r"3 matches, 300 moves, fuel per move mean [\d,]+, max [\d,]+", report.check("smoke-match").detail
    )
    assert report.fuel_mean is not None
    assert report.fuel_max is not None
    assert 1_000 < report.fuel_mean <= report.fuel_max < SandboxLimits().fuel_per_move
    assert report.deterministic is True


def test_every_game_of_the_policy_is_smoke_tested(runtime: SandboxRuntime) -> None:
    report = validate(builtin("iocaine-powder"), runtime, games=("rps", "rpsls"))
    assert report.passed
    assert report.check("smoke-match").detail.startswith("5 matches, 500 moves")
    ipd = validate(builtin("tit-for-tat"), runtime, games=("ipd",))
    assert ipd.check("smoke-match").detail == "3 matches, 300 moves, fuel per move mean 21, max 21"


def test_a_logging_component_passes(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.logging(tmp_path), runtime)
    assert report.passed
    assert report.check("imports").detail == (
        "only the contract: tournament:strategy/host@1.0.0, tournament:strategy/types@1.0.0"
    )


# -- size and compiles -------------------------------------------------------------------------------


def test_size_over_the_cap_fails_and_skips_the_rest(runtime: SandboxRuntime) -> None:
    report = validate(builtin("constant"), runtime, max_size=1000)
    assert only_failure(report, "size") == "2.4 KB is over the 1000 bytes cap (2,403 > 1,000 bytes)"
    assert {check.detail for check in report.checks[1:]} == {"skipped: size failed"}
    assert statuses(report)["deterministic"] == "skip"
    assert report.fuel_mean is None
    assert report.deterministic is None


def test_bytes_without_the_wasm_header(runtime: SandboxRuntime) -> None:
    report = validate(b"MZ\x90\x00 this is not wasm", runtime)
    assert only_failure(report, "compiles") == "not a WebAssembly binary (missing the \\0asm header)"
    assert report.check("exports").detail == "skipped: compiles failed"
    assert report.check("deterministic").detail == "skipped: compiles failed"


def test_malformed_component_bytes(runtime: SandboxRuntime) -> None:
    report = validate(b"\0asm\x0d\x00\x01\x00garbage", runtime)
    detail = only_failure(report, "compiles")
    assert detail.startswith("does not compile: ")
    assert "\n" not in detail


def test_a_core_module_is_not_a_component(runtime: SandboxRuntime) -> None:
    report = validate(bad.core_module(), runtime)
    assert only_failure(report, "compiles") == (
        "a core WebAssembly module, not a component (wrap it with `wasm-tools component new`)"
    )


# -- exports and imports -----------------------------------------------------------------------------


def test_wrong_world_version(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.wrong_version(tmp_path), runtime)
    assert report.failures() == [
        "exports: exports tournament:strategy/player at incompatible version 2.0.0 "
        "(this engine speaks tournament:strategy/player@1.x)",
        "imports: imports outside the allow-list: tournament:strategy/types@2.0.0 (incompatible version)",
    ]
    assert report.wit_version == "2.0.0"
    assert report.check("instantiates").detail == "skipped: exports and imports failed"


def test_a_compatible_minor_version_passes(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.wrong_version(tmp_path, "1.3.0"), runtime)
    assert report.passed
    assert report.wit_version == "1.3.0"


def test_missing_player_export(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.no_player(tmp_path), runtime)
    assert only_failure(report, "exports") == (
        "does not export tournament:strategy/player@1.x (exports: nothing)"
    )
    assert report.check("instantiates").detail == "skipped: exports failed"


def test_missing_function_shows_what_is_expected(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.missing_begin(tmp_path), runtime)
    assert only_failure(report, "exports") == f"missing export begin: expected func(setup: {MATCH_SETUP})"


def test_wrong_signature_shows_expected_and_found(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.wrong_signature(tmp_path), runtime)
    assert only_failure(report, "exports") == (
        "export next-move has the wrong signature: "
        f"expected func(last: option<{ROUND_RESULT}>) -> u32, found func(last: option<{ROUND_RESULT}>) -> s64"
    )


def test_forbidden_imports_are_named(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.two_forbidden_imports(tmp_path), runtime)
    assert only_failure(report, "imports") == (
        "imports outside the allow-list: wasi:random/insecure@0.2.0, wasi:random/random@0.2.0"
    )
    assert report.uses_wasi
    assert report.check("exports").status is CheckStatus.PASS


def test_host_import_with_the_wrong_signature(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.log_with_wrong_signature(tmp_path), runtime)
    assert only_failure(report, "imports") == (
        "imports host function log with the wrong signature: "
        "expected func(message: string), found func(level: u32)"
    )


# -- instantiation -----------------------------------------------------------------------------------


def test_memory_above_the_cap_at_instantiation(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.playing(tmp_path, pages=1024), runtime, limits=TIGHT)  # 64 MiB against 8 MiB
    assert only_failure(report, "instantiates") == (
        "memory: needs more than the 8 MiB cap (memory minimum size of 1024 pages exceeds memory limits)"
    )
    assert report.check("smoke-match").detail == "skipped: instantiates failed"
    assert report.instantiate_ms is None


def test_trap_in_begin(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.playing(tmp_path, begin_body="unreachable"), runtime)
    assert only_failure(report, "instantiates") == "trap: wasm `unreachable` instruction executed"


def test_begin_over_the_setup_fuel(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.playing(tmp_path, begin_body="(loop $l br $l)"), runtime, limits=TIGHT)
    assert only_failure(report, "instantiates") == (
        "fuel: instantiation and begin need more than the setup fuel (2,000,000)"
    )


# -- smoke match -------------------------------------------------------------------------------------


def test_smoke_match_trap(tmp_path: Path, runtime: SandboxRuntime) -> None:
    trapping = bad.playing(tmp_path, "local.get $r i32.const 12 i32.eq (if (then unreachable)) i32.const 1")
    report = validate(trapping, runtime)
    assert only_failure(report, "smoke-match") == (
        "vs constant (rps): trap at round 12: wasm `unreachable` instruction executed"
    )
    assert report.check("deterministic").detail == "skipped: smoke-match failed"
    assert report.fuel_max is not None  # the twelve good moves still count


def test_smoke_match_fuel(tmp_path: Path, runtime: SandboxRuntime) -> None:
    looping = bad.playing(tmp_path, "local.get $r i32.const 3 i32.eq (if (then (loop $l br $l))) i32.const 1")
    report = validate(looping, runtime, limits=TIGHT)
    assert only_failure(report, "smoke-match") == "vs constant (rps): fuel at round 3: fuel budget exhausted"


def test_smoke_match_illegal_move(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.playing(tmp_path, "i32.const 7"), runtime)
    assert only_failure(report, "smoke-match") == (
        "vs constant (rps): illegal-move at round 0: move 7 is not one of 0..2"
    )


def test_a_move_legal_in_one_game_is_illegal_in_another(tmp_path: Path, runtime: SandboxRuntime) -> None:
    scissors = bad.playing(tmp_path, "i32.const 2")
    assert validate(scissors, runtime).passed
    report = validate(scissors, runtime, games=("rps", "ipd"))
    assert only_failure(report, "smoke-match") == (
        "vs tit-for-tat (ipd): illegal-move at round 0: move 2 is not one of 0..1"
    )


# -- determinism and WASI ----------------------------------------------------------------------------


def test_allowed_wasi_component_is_marked_non_deterministic(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.wasi_random(tmp_path), runtime, allow_wasi=True)
    assert report.passed, report.failures()
    assert report.check("imports").detail == "WASI allowed by the policy: wasi:random/random@0.2.0"
    assert report.check("deterministic").detail.startswith(
        "marked non-deterministic (imports wasi:random/random@0.2.0): a replay from the same seed played "
    )
    assert (report.deterministic, report.uses_wasi) == (False, True)


def test_allowing_wasi_does_not_allow_other_imports(tmp_path: Path, runtime: SandboxRuntime) -> None:
    report = validate(bad.log_with_wrong_signature(tmp_path), runtime, allow_wasi=True)
    assert report.failures()[0].startswith("imports: imports host function log with the wrong signature")


# -- the report --------------------------------------------------------------------------------------


def test_checks_are_heard_in_order_as_they_finish(tmp_path: Path, runtime: SandboxRuntime) -> None:
    heard: list[CheckResult] = []
    report = validate_component(bad.playing(tmp_path), runtime=runtime, on_check=heard.append)
    assert tuple(heard) == report.checks


def test_the_report_round_trips_through_json(runtime: SandboxRuntime) -> None:
    for report in (validate(builtin("constant"), runtime), validate(b"junk", runtime)):
        assert ValidationReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    with pytest.raises(ValueError, match="malformed"):
        ValidationReport.from_dict({"checks": [{"name": "size", "status": "maybe", "detail": ""}]})


def test_report_lines_and_summary(runtime: SandboxRuntime) -> None:
    lines = report_lines(validate(builtin("constant"), runtime))
    assert lines[0] == "PASS  size            2.4 KB (cap 64 MiB)"
    assert re.fullmatch(
        r"valid: deterministic; fuel per move mean 9, max 9; instantiate [\d.]+ ms", lines[-1]
    )
    rejected = report_lines(validate(b"junk", runtime))
    assert rejected[1].startswith("FAIL  compiles        not a WebAssembly binary")
    assert rejected[2] == "SKIP  exports         skipped: compiles failed"
    assert rejected[-1] == "rejected: 1 check failed (compiles)"


def test_an_unfinished_validation_fails_the_check_it_was_running() -> None:
    done = [CheckResult("size", CheckStatus.PASS, "1 KB"), CheckResult("compiles", CheckStatus.PASS, "ok")]
    report = unfinished_report("ab", 1000, done, "validation process ran out of memory (4 GiB)")
    assert report.failures() == ["exports: validation process ran out of memory (4 GiB)"]
    assert report.check("imports").detail == "skipped: validation did not finish"
    assert report.check("instantiates").detail == "skipped: exports failed"
    assert completed_report("ab", 9, [CheckResult("size", CheckStatus.FAIL, "big")]).failures() == [
        "size: big"
    ]


# -- validation that cannot run ----------------------------------------------------------------------


def test_an_unknown_game_is_a_setup_error(runtime: SandboxRuntime) -> None:
    with pytest.raises(ValidationSetupError, match="unknown game 'chess'"):
        validate(builtin("constant"), runtime, games=("chess",))


def test_missing_builtins_are_a_setup_error(tmp_path: Path, runtime: SandboxRuntime) -> None:
    with pytest.raises(ValidationSetupError, match="built-in strategies not found"):
        validate_component(builtin("constant"), builtins_manifest=tmp_path / "manifest.json", runtime=runtime)
    assert DEFAULT_MANIFEST == BUILD_DIR / "manifest.json"
