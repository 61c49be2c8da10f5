"""The isolated validation process: `python -m tournament.authoring.validate_worker REQUEST.json`.

It limits itself (CPU time, private memory, no core dumps) before importing wasmtime, validates the
component, and writes JSON lines on stdout: one `{"check": ...}` per finished check as it finishes (so
the parent knows which check was running if this process dies), then `{"report": ...}`.
See `tournament.authoring.isolation`, which starts it.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

CPU_GRACE_SECONDS = 5
"""SIGXCPU comes at the soft limit; the hard limit (SIGKILL) follows this much later."""
SETUP_ERROR_EXIT = 3


def main(argv: list[str]) -> int:
    request: dict[str, Any] = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    _limit(resource.RLIMIT_CORE, 0, 0)
    _limit(resource.RLIMIT_CPU, request["cpu_seconds"], request["cpu_seconds"] + CPU_GRACE_SECONDS)
    _limit(resource.RLIMIT_DATA, request["memory_bytes"], request["memory_bytes"])

    from tournament.authoring.policy import ValidationPolicy, ValidationSetupError
    from tournament.authoring.report import CheckResult
    from tournament.authoring.validation import validate_component
    from tournament.sandbox.runtime import SandboxRuntime

    def emit(kind: str, payload: object) -> None:
        sys.stdout.write(json.dumps({kind: payload}) + "\n")
        sys.stdout.flush()

    def on_check(check: CheckResult) -> None:
        emit("check", check.to_dict())

    policy = ValidationPolicy.from_dict(request["policy"])
    cache_dir = Path(request["cache_dir"]) if request.get("cache_dir") else None
    data = Path(request["component"]).read_bytes()
    with SandboxRuntime(policy.limits.stack_bytes, cache_dir) as runtime:
        try:
            report = validate_component(
                data,
                policy,
                builtins_manifest=Path(request["builtins_manifest"]),
                runtime=runtime,
                on_check=on_check,
            )
        except ValidationSetupError as error:
            emit("setup_error", str(error))
            return SETUP_ERROR_EXIT
    emit("report", report.to_dict())
    return 0


def _limit(kind: int, soft: int, hard: int) -> None:
    """Lower a limit; never above the hard limit this process already has."""
    _, current_hard = resource.getrlimit(kind)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(kind, (soft, hard))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
