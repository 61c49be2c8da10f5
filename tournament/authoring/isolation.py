"""Validation in a child process with CPU-time and memory limits.

Compiling an uploaded component runs Cranelift over attacker-chosen code: a compile bomb can take minutes
of CPU or gigabytes of memory, and a wasmtime panic aborts the whole process. So uploads are validated by
`python -m tournament.authoring.validate_worker` in a child that limits itself (RLIMIT_CPU, RLIMIT_DATA)
before it imports wasmtime, under a wall-clock timeout. Whatever happens to the child, the caller gets a
report: a child that dies fails the check it was running with the reason.

RLIMIT_DATA (private writable memory), not RLIMIT_AS, caps memory: wasmtime reserves about 4 GiB of
address space per linear memory up front, so an address-space limit would refuse every instance while
measuring nothing real. The child shares the artifact cache directory, so a component validated here is
not compiled again by a later tournament.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tournament.authoring.builtins import DEFAULT_MANIFEST, smoke_opponents
from tournament.authoring.policy import ValidationPolicy, ValidationSetupError
from tournament.authoring.report import (
    CheckResult,
    CheckStatus,
    ValidationReport,
    completed_report,
    unfinished_report,
)
from tournament.authoring.sizes import binary_size, check_size

WORKER_MODULE = "tournament.authoring.validate_worker"
SETUP_ERROR_EXIT = 3
"""The worker's exit status when validation could not run at all (ValidationSetupError)."""
POLL_SECONDS = 0.02
MEMORY_SIGNS = ("memory allocation of", "MemoryError", "Cannot allocate memory", "out of memory")
"""What a child that ran out of memory leaves on stderr (Rust's alloc failure, Python's, the OS's)."""

DEFAULT_POLICY = ValidationPolicy()


@dataclass(frozen=True, slots=True)
class _Limits:
    cpu_seconds: int
    memory_bytes: int
    wall_seconds: int


@dataclass(frozen=True, slots=True)
class _Exit:
    """How the child ended: its wait status, CPU seconds used, and whether we killed it at the deadline."""

    status: int
    cpu_seconds: float
    timed_out: bool

    @property
    def signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None

    @property
    def code(self) -> int | None:
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else None


def validate_isolated(
    data: bytes,
    policy: ValidationPolicy = DEFAULT_POLICY,
    *,
    builtins_manifest: Path | None = None,
    cpu_seconds: int = 120,
    memory_bytes: int = 4 << 30,
    wall_seconds: int = 300,
    cache_dir: Path | None = None,
) -> ValidationReport:
    """Validate `data` in a limited child process; see `validate_component` for the checks.

    Raises ValidationSetupError (in this process, before spawning) when validation cannot run as asked;
    every failure of the child itself becomes a FAIL in the report.
    """
    manifest = builtins_manifest or DEFAULT_MANIFEST
    smoke_opponents(policy.games, manifest)
    digest = hashlib.sha256(data).hexdigest()  # tournament.sandbox.artifacts.content_hash, sans wasmtime
    size = check_size(len(data), policy.max_size)
    if size.status is CheckStatus.FAIL:
        return completed_report(digest, len(data), [size])
    with tempfile.TemporaryDirectory(prefix="tournament-validate-") as scratch:
        folder = Path(scratch)
        component = folder / "component.wasm"
        component.write_bytes(data)
        request = {
            "component": str(component),
            "policy": policy.to_dict(),
            "builtins_manifest": str(manifest),
            "cache_dir": None if cache_dir is None else str(cache_dir),
            "cpu_seconds": cpu_seconds,
            "memory_bytes": memory_bytes,
        }
        (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
        stdout, stderr = folder / "stdout", folder / "stderr"
        ended = _run_worker(folder / "request.json", stdout, stderr, wall_seconds)
        lines = _json_lines(stdout.read_text(encoding="utf-8", errors="replace"))
        errors = stderr.read_text(encoding="utf-8", errors="replace")
    limits = _Limits(cpu_seconds, memory_bytes, wall_seconds)
    return _outcome(digest, len(data), size, lines, errors, ended, limits)


def _run_worker(request: Path, stdout: Path, stderr: Path, wall_seconds: int) -> _Exit:
    """Run the worker to its end (or kill it at the deadline) and reap it with its resource usage."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, str(request)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    deadline = time.monotonic() + wall_seconds
    timed_out = False
    pause = 0.001
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, 0 if timed_out else os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                _kill(process.pid)
                timed_out = True
                continue
            time.sleep(pause)
            pause = min(pause * 2, POLL_SECONDS)
    except BaseException:
        _kill(process.pid)
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    return _Exit(status, usage.ru_utime + usage.ru_stime, timed_out)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _json_lines(text: str) -> list[dict[str, Any]]:
    """The worker's messages; anything else on its stdout is ignored."""
    messages: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


def _outcome(
    digest: str,
    n_bytes: int,
    size: CheckResult,
    messages: list[dict[str, Any]],
    errors: str,
    ended: _Exit,
    limits: _Limits,
) -> ValidationReport:
    """The child's report, or (if it died) a report whose unfinished check fails with the reason."""
    report = next((m["report"] for m in messages if isinstance(m.get("report"), dict)), None)
    if not ended.timed_out and ended.code == 0 and isinstance(report, dict):
        with contextlib.suppress(ValueError):
            return ValidationReport.from_dict(report)
    setup_error = next((m["setup_error"] for m in messages if "setup_error" in m), None)
    if not ended.timed_out and ended.code == SETUP_ERROR_EXIT and setup_error is not None:
        raise ValidationSetupError(str(setup_error))
    done = [size, *(check for check in _finished_checks(messages) if check.name != size.name)]
    return unfinished_report(digest, n_bytes, done, _death_reason(ended, errors, limits))


def _finished_checks(messages: list[dict[str, Any]]) -> list[CheckResult]:
    checks: list[CheckResult] = []
    for message in messages:
        if isinstance(message.get("check"), dict):
            with contextlib.suppress(ValueError):
                checks.append(CheckResult.from_dict(message["check"]))
    return checks


def _death_reason(ended: _Exit, errors: str, limits: _Limits) -> str:
    if ended.timed_out:
        return f"validation process exceeded its wall-clock limit ({limits.wall_seconds} s)"
    if ended.signal == signal.SIGXCPU or (
        ended.signal == signal.SIGKILL and ended.cpu_seconds >= limits.cpu_seconds
    ):
        return f"validation process exceeded its CPU time limit ({limits.cpu_seconds} s)"
    if any(sign in errors for sign in MEMORY_SIGNS) or ended.signal == signal.SIGKILL:
        return f"validation process ran out of memory ({binary_size(limits.memory_bytes)})"
    how = (
        f"signal {signal.Signals(ended.signal).name}"
        if ended.signal is not None
        else f"exit status {ended.code}"
    )
    return f"validation process failed ({how}): {_last_words(errors)}"


def _last_words(errors: str) -> str:
    """The line of stderr that says what went wrong: a Rust panic's message, else the last line."""
    lines = [line.strip() for line in errors.splitlines() if line.strip()]
    for index, line in enumerate(lines[:-1]):
        if "panicked at" in line:
            return f"wasmtime panicked: {lines[index + 1]}"[:300]
    return lines[-1][:300] if lines else "no output"
