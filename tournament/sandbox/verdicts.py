"""Contract-check verdicts kept next to the compiled artifacts they are about.

Checking a component against the contract reads its whole type through wasmtime's reflection: about
0.23 ms a component, 1.9 ms of a one-shot 8-strategy run (7% of it) and again in every fresh worker. A
component that passed is recorded here, keyed by its content hash, the WASI choice and the checker's own
source, so a process that loads the artifact from the same cache skips the check; an edit to the checker
changes the key and every component is checked again. Only passing verdicts are kept: a failure is
always found afresh. The directory is the artifact cache's, which is trusted already (its artifacts are
native code this process runs), and files are written atomically like the artifacts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

from tournament.sandbox import contract, validation
from tournament.sandbox.validation import ContractReport


@functools.cache
def checker_identity() -> str | None:
    """A hash of the checker's source (the contract and its check), or None when it cannot be read
    (then nothing is cached)."""
    identity = hashlib.sha256()
    try:
        for module in (contract, validation):
            identity.update(Path(module.__file__ or "").read_bytes())
    except OSError:
        return None
    return identity.hexdigest()[:16]


class ContractVerdicts:
    """Passing verdicts for one artifact cache directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _path(self, digest: str, allow_wasi: bool, checker: str) -> Path:
        return self._directory / f"{digest}.{'wasi' if allow_wasi else 'pure'}.{checker}.contract.json"

    def load(self, digest: str, *, allow_wasi: bool) -> ContractReport | None:
        """The recorded report of a component that passed, or None (none recorded, or unreadable)."""
        checker = checker_identity()
        if checker is None:
            return None
        try:
            fields = json.loads(self._path(digest, allow_wasi, checker).read_bytes())
            report = ContractReport(
                player_interface=fields["player_interface"],
                wit_version=fields["wit_version"],
                imports=tuple(fields["imports"]),
                uses_wasi=fields["uses_wasi"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        valid = (
            isinstance(report.player_interface, str)
            and isinstance(report.wit_version, str)
            and all(isinstance(name, str) for name in report.imports)
            and isinstance(report.uses_wasi, bool)
            and (allow_wasi or not report.uses_wasi)
        )
        return report if valid else None

    def store(self, digest: str, report: ContractReport, *, allow_wasi: bool) -> None:
        """Record a passing report; a failure to write only means the next process checks again."""
        checker = checker_identity()
        if checker is None:
            return
        fields = {
            "player_interface": report.player_interface,
            "wit_version": report.wit_version,
            "imports": list(report.imports),
            "uses_wasi": report.uses_wasi,
        }
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._directory, suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(fields, out)
            os.replace(tmp, self._path(digest, allow_wasi, checker))
        except OSError:
            Path(tmp).unlink(missing_ok=True)
