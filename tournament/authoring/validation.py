"""The admission checks for a strategy component, run in this process.

`validate_component` runs every check in `CHECKS` order and never raises because of the component: each
problem becomes a FAIL line with its reason, and checks that depend on a failed one are SKIPped. Uploads
from strangers should go through `tournament.authoring.isolation.validate_isolated`, which runs this in a
child process with CPU and memory limits.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tournament.authoring.builtins import BuiltinStrategy, smoke_opponents
from tournament.authoring.policy import ValidationPolicy, ValidationSetupError
from tournament.authoring.report import CHECKS, CheckResult, CheckStatus, ValidationReport, skip_reason
from tournament.authoring.sizes import binary_size, check_size
from tournament.authoring.smoke import SmokeArena, SmokeMatch
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import get_game
from tournament.rules.seeds import derive_seed, opponent_id
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.errors import BadComponentError
from tournament.sandbox.player import MoveResult, PlayerSetup
from tournament.sandbox.runtime import SandboxRuntime
from tournament.sandbox.validation import ContractProblems, contract_problems

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckStatus",
    "ValidationPolicy",
    "ValidationReport",
    "ValidationSetupError",
    "validate_component",
]

INSTANTIATIONS = 3
"""Timed instantiations (after one untimed warm-up) behind `instantiate_ms`."""
CORE_MODULE_VERSION = b"\x01\x00\x00\x00"
WASI_NAMES_SHOWN = 3

DEFAULT_POLICY = ValidationPolicy()
OnCheck = Callable[[CheckResult], None]


def validate_component(
    data: bytes,
    policy: ValidationPolicy = DEFAULT_POLICY,
    *,
    builtins_manifest: Path | None = None,
    runtime: SandboxRuntime | None = None,
    on_check: OnCheck | None = None,
) -> ValidationReport:
    """Run every admission check on `data`; `on_check` hears each result as soon as it is known.

    Raises ValidationSetupError only when validation itself cannot run (an unknown game in the policy,
    built-ins missing): never because of the component.
    """
    opponents = smoke_opponents(policy.games, builtins_manifest)
    if runtime is not None and runtime.settings.stack_bytes != policy.limits.stack_bytes:
        raise ValidationSetupError(
            f"the runtime's stack cap ({runtime.settings.stack_bytes}) differs from the policy's "
            f"({policy.limits.stack_bytes})"
        )
    checker = _Checker(data, policy, on_check)
    if checker.size_fits():
        owned = runtime is None
        runtime = runtime or SandboxRuntime(policy.limits.stack_bytes)
        try:
            checker.run(runtime, opponents)
        finally:
            if owned:
                runtime.close()
    return checker.report()


class _Checker:
    """The state of one validation: results so far and what was measured."""

    def __init__(self, data: bytes, policy: ValidationPolicy, on_check: OnCheck | None) -> None:
        self._data = data
        self._digest = content_hash(data)
        self._policy = policy
        self._on_check = on_check
        self._results: dict[str, CheckResult] = {}
        self._wit_version: str | None = None
        self._uses_wasi = False
        self._deterministic: bool | None = None
        self._fuel_mean: float | None = None
        self._fuel_max: int | None = None
        self._instantiate_ms: float | None = None

    def report(self) -> ValidationReport:
        for name in CHECKS:
            if name not in self._results:
                self._skipped(name)
        return ValidationReport(
            content_hash=self._digest,
            size=len(self._data),
            checks=tuple(self._results[name] for name in CHECKS),
            wit_version=self._wit_version,
            deterministic=self._deterministic,
            uses_wasi=self._uses_wasi,
            fuel_mean=self._fuel_mean,
            fuel_max=self._fuel_max,
            instantiate_ms=self._instantiate_ms,
        )

    def run(self, runtime: SandboxRuntime, opponents: Sequence[tuple[str, BuiltinStrategy]]) -> None:
        if not self._compiles(runtime):
            return
        problems = contract_problems(
            runtime.engine, runtime.component(self._digest), allow_wasi=self._policy.allow_wasi
        )
        self._wit_version = problems.wit_version
        self._uses_wasi = problems.uses_wasi
        self._exports(problems)
        self._imports(problems)
        if self._skipped("instantiates") or not self._instantiates(runtime):
            return
        arena = SmokeArena(
            runtime, self._digest, self._policy.limits, allow_wasi=self._policy.allow_wasi and self._uses_wasi
        )
        matches = self._smoke_match(arena, opponents)
        if not self._skipped("deterministic"):
            self._determinism(arena, matches, problems)

    # -- bookkeeping ---------------------------------------------------------------------------------

    def _record(self, name: str, status: CheckStatus, detail: str) -> bool:
        result = CheckResult(name, status, detail)
        self._results[name] = result
        if self._on_check is not None:
            self._on_check(result)
        return status is not CheckStatus.FAIL

    def _skipped(self, name: str) -> bool:
        """Record a SKIP and return True when a dependency of `name` failed."""
        reason = skip_reason(name, self._results)
        if reason is None:
            return False
        self._record(name, CheckStatus.SKIP, reason)
        return True

    # -- the checks ----------------------------------------------------------------------------------

    def size_fits(self) -> bool:
        result = check_size(len(self._data), self._policy.max_size)
        return self._record(result.name, result.status, result.detail)

    def _compiles(self, runtime: SandboxRuntime) -> bool:
        data = self._data
        if data.startswith(b"\0asm") and data[4:8] == CORE_MODULE_VERSION:
            return self._record(
                "compiles",
                CheckStatus.FAIL,
                "a core WebAssembly module, not a component (wrap it with `wasm-tools component new`)",
            )
        cached = runtime.cache.has(self._digest)
        started = time.perf_counter()
        try:
            runtime.cache.get(data, self._digest)
        except BadComponentError as error:
            return self._record("compiles", CheckStatus.FAIL, str(error))
        if cached:
            return self._record("compiles", CheckStatus.PASS, "already compiled (artifact cache)")
        return self._record(
            "compiles", CheckStatus.PASS, f"compiled in {_ms(time.perf_counter() - started):,.0f} ms"
        )

    def _exports(self, problems: ContractProblems) -> bool:
        if problems.export_problems:
            return self._record("exports", CheckStatus.FAIL, "; ".join(problems.export_problems))
        return self._record(
            "exports", CheckStatus.PASS, f"{problems.player_interface} (begin, next-move as in the contract)"
        )

    def _imports(self, problems: ContractProblems) -> bool:
        if problems.import_problems:
            return self._record("imports", CheckStatus.FAIL, "; ".join(problems.import_problems))
        wasi = _wasi_imports(problems)
        if wasi:
            return self._record("imports", CheckStatus.PASS, f"WASI allowed by the policy: {_listed(wasi)}")
        own = ", ".join(problems.imports) or "nothing"
        return self._record("imports", CheckStatus.PASS, f"only the contract: {own}")

    def _instantiates(self, runtime: SandboxRuntime) -> bool:
        policy = self._policy
        game = get_game(policy.games[0])
        setup = PlayerSetup(
            game.name,
            game.moves,
            policy.smoke_rounds,
            derive_seed("validation", "instantiate"),
            opponent_id("validation"),
        )
        timings: list[float] = []
        for _ in range(INSTANTIATIONS + 1):
            player = runtime.player(
                self._digest, setup, policy.limits, allow_wasi=policy.allow_wasi and self._uses_wasi
            )
            started = time.perf_counter()
            try:
                failure = player.start()
                elapsed = time.perf_counter() - started
            finally:
                player.close()
            if failure is not None:
                return self._record("instantiates", CheckStatus.FAIL, self._start_failure(failure))
            timings.append(elapsed)
        self._instantiate_ms = _ms(statistics.fmean(timings[1:]))
        cap = binary_size(policy.limits.memory_bytes)
        return self._record(
            "instantiates",
            CheckStatus.PASS,
            f"instance and begin in {self._instantiate_ms:.2f} ms (memory cap {cap}, "
            f"setup fuel {policy.limits.setup_fuel:,})",
        )

    def _start_failure(self, failure: MoveResult) -> str:
        limits = self._policy.limits
        reason, detail = failure.forfeit, failure.detail
        if reason is ForfeitReason.MEMORY:
            return f"memory: needs more than the {binary_size(limits.memory_bytes)} cap ({detail})"
        if reason is ForfeitReason.FUEL:
            return f"fuel: instantiation and begin need more than the setup fuel ({limits.setup_fuel:,})"
        if reason is ForfeitReason.TIMEOUT:
            return f"timeout: instantiation and begin ran past the {limits.timeout_ms:,} ms deadline"
        return f"{reason}: {detail}"

    def _smoke_match(
        self, arena: SmokeArena, opponents: Sequence[tuple[str, BuiltinStrategy]]
    ) -> list[SmokeMatch]:
        matches: list[SmokeMatch] = []
        fuel: list[int] = []
        failure: str | None = None
        for game, opponent in opponents:
            match = arena.play(game, opponent, self._policy.smoke_rounds)
            matches.append(match)
            fuel.extend(match.fuel)
            failure = match.failure()
            if failure is not None:
                break
        if fuel:
            self._fuel_mean = statistics.fmean(fuel)
            self._fuel_max = max(fuel)
        if failure is not None:
            self._record("smoke-match", CheckStatus.FAIL, failure)
            return matches
        moves = sum(len(match.moves) for match in matches)
        self._record(
            "smoke-match",
            CheckStatus.PASS,
            f"{len(matches)} matches, {moves:,} moves, fuel per move mean {self._fuel_mean or 0:,.0f}, "
            f"max {self._fuel_max or 0:,}",
        )
        return matches

    def _determinism(self, arena: SmokeArena, matches: list[SmokeMatch], problems: ContractProblems) -> None:
        """Replay one match per game (against its last, most varied opponent) from the same seed."""
        last_per_game = {match.game: match for match in matches}
        difference: str | None = None
        for match in last_per_game.values():
            replay = arena.play(match.game, match.opponent, len(match.moves))
            difference = _first_difference(match, replay)
            if difference is not None:
                break
        if problems.uses_wasi:
            self._deterministic = False
            marked = f"marked non-deterministic (imports {_listed(_wasi_imports(problems))})"
            played = difference or "although it played the same moves twice from the same seed"
            self._record("deterministic", CheckStatus.PASS, f"{marked}: {played}")
        elif difference is not None:
            self._deterministic = False
            self._record("deterministic", CheckStatus.FAIL, difference)
        else:
            self._deterministic = True
            self._record("deterministic", CheckStatus.PASS, "same moves twice from the same seed")


def _ms(seconds: float) -> float:
    return seconds * 1000


def _wasi_imports(problems: ContractProblems) -> list[str]:
    return [name for name in problems.imports if name.startswith("wasi:")]


def _listed(names: Sequence[str]) -> str:
    """The first few names; WASI builds import a dozen interfaces or more."""
    if len(names) <= WASI_NAMES_SHOWN:
        return ", ".join(names)
    return f"{', '.join(names[:WASI_NAMES_SHOWN])} and {len(names) - WASI_NAMES_SHOWN} more"


def _first_difference(first: SmokeMatch, replay: SmokeMatch) -> str | None:
    game = get_game(first.game)
    for index, (before, again) in enumerate(zip(first.moves, replay.moves, strict=True)):
        if before != again:
            return (
                f"a replay from the same seed played {_label(game.label, again)} instead of "
                f"{_label(game.label, before)} at round {index} vs {first.opponent.name} ({first.game})"
            )
    return None


def _label(label: Callable[[int], str], move: int | None) -> str:
    return "a forfeit" if move is None else f"{label(move)} ({move})"
