"""One process's sandbox: an engine, its artifact cache and its epoch ticker."""

from __future__ import annotations

from pathlib import Path

from wasmtime.component import Component

from tournament.sandbox.artifacts import ArtifactCache, content_hash
from tournament.sandbox.engine import EngineSettings, make_engine
from tournament.sandbox.errors import BadComponentError
from tournament.sandbox.fastcall import ComponentCalls
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import HostLinker, PlayerSetup, WasmPlayer
from tournament.sandbox.validation import ContractReport, check_contract
from tournament.sandbox.verdicts import ContractVerdicts
from tournament.sandbox.watchdog import EpochTicker


class SandboxRuntime:
    """Compiles, checks and instantiates components for one engine configuration.

    Create one per process (worker) and reuse it: compiled components and the engine are shared by
    every match the process plays. Not thread-safe: one match plays at a time per runtime.
    """

    def __init__(self, stack_bytes: int = SandboxLimits().stack_bytes, cache_dir: Path | None = None) -> None:
        self.settings = EngineSettings(stack_bytes=stack_bytes)
        self.engine = make_engine(self.settings)
        self.cache = ArtifactCache(self.engine, self.settings, cache_dir)
        self._verdicts = ContractVerdicts(self.cache.directory)
        self.ticker = EpochTicker(self.engine)
        self.ticker.start()
        self._reports: dict[tuple[str, bool], ContractReport] = {}
        self._calls: dict[str | None, ComponentCalls] = {}
        """Call state every match's players share (types, lowered round results): one for all the
        components that passed the contract check (key None: the check found exactly the contract's
        function types in each, so their lowered values fit them all), one per component for the others."""
        self._linkers: dict[bool, HostLinker] = {}
        """Per WASI choice: the linker with the host imports that every player shares."""

    def prepare(self, data: bytes, digest: str | None = None, *, allow_wasi: bool = False) -> ContractReport:
        """Compile (or load from cache) and check a component; raises BadComponentError."""
        digest = digest or content_hash(data)
        report = self._reports.get((digest, allow_wasi))
        if report is None:
            report = self._checked(digest, self.cache.get(data, digest), allow_wasi)
        return report

    def prepare_cached(self, digest: str, *, allow_wasi: bool = False) -> ContractReport | None:
        """Check a component from the artifact cache without its bytes; None when it is not cached."""
        report = self._reports.get((digest, allow_wasi))
        if report is not None:
            return report
        component = self.cache.load(digest)
        if component is None:
            return None
        return self._checked(digest, component, allow_wasi)

    def _checked(self, digest: str, component: Component, allow_wasi: bool) -> ContractReport:
        """The contract check's report (raises BadComponentError), or the verdict this cache recorded
        when the same checker passed the same component (see `verdicts`)."""
        report = self._verdicts.load(digest, allow_wasi=allow_wasi)
        if report is None:
            report = check_contract(self.engine, component, allow_wasi=allow_wasi)
            self._verdicts.store(digest, report, allow_wasi=allow_wasi)
        self._reports[(digest, allow_wasi)] = report
        return report

    def component(self, digest: str) -> Component:
        """A component already prepared in this process or compiled into the disk cache by another."""
        component = self.cache.load(digest)
        if component is None:
            raise BadComponentError(f"component {digest[:12]} is not in the artifact cache")
        return component

    def player(
        self, digest: str, setup: PlayerSetup, limits: SandboxLimits, *, allow_wasi: bool = False
    ) -> WasmPlayer:
        component = self.component(digest)
        calls = self.shared_calls(digest, allow_wasi=allow_wasi)
        linker = self._linkers.get(allow_wasi)
        if linker is None:
            linker = self._linkers[allow_wasi] = HostLinker(self.engine, allow_wasi=allow_wasi)
        return WasmPlayer(
            self.engine,
            component,
            setup,
            limits,
            self.ticker,
            allow_wasi=allow_wasi,
            calls=calls,
            linker=linker,
        )

    def shared_calls(self, digest: str, *, allow_wasi: bool = False) -> ComponentCalls:
        """The call state the component's players share (see `_calls`)."""
        key = None if (digest, allow_wasi) in self._reports else digest
        calls = self._calls.get(key)
        if calls is None:
            calls = self._calls[key] = ComponentCalls()
        return calls

    def close(self) -> None:
        self.ticker.stop()
        for calls in self._calls.values():
            calls.close()
        self._calls.clear()

    def __enter__(self) -> SandboxRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
