"""A disk cache of compiled components, keyed by content hash and engine settings.

Compiling a component costs milliseconds (C) to seconds (componentize-py); deserializing a cached artifact
costs well under a millisecond to tens of milliseconds. Only files this cache wrote are ever deserialized:
a serialized artifact is trusted native code.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import wasmtime
from wasmtime.component import Component

from tournament.sandbox.engine import EngineSettings
from tournament.sandbox.errors import BadComponentError


def content_hash(data: bytes) -> str:
    """The content address of a component: the sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def default_cache_dir() -> Path:
    if "TOURNAMENT_CACHE" in os.environ:
        return Path(os.environ["TOURNAMENT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tournament" / "artifacts"


def artifact_path(directory: Path | None, fingerprint: str, digest: str) -> Path:
    """Where a component's compiled artifact lives on disk for an engine fingerprint (`ArtifactCache`'s
    layout; also how a coordinator tells, without an engine, that its workers will find every artifact)."""
    return (directory or default_cache_dir()) / fingerprint / f"{digest}.cwasm"


class ArtifactCache:
    """Compiled components for one engine, memoized in process and persisted on disk."""

    def __init__(
        self, engine: wasmtime.Engine, settings: EngineSettings, directory: Path | None = None
    ) -> None:
        self._engine = engine
        self._root = directory or default_cache_dir()
        self._fingerprint = settings.fingerprint
        self._directory = self._root / settings.fingerprint
        self._loaded: dict[str, Component] = {}
        self.compiled = 0
        """Components compiled by this cache instance (the rest came from memory or disk)."""
        self.loaded_from_disk = 0

    @property
    def directory(self) -> Path:
        return self._directory

    def path_for(self, digest: str) -> Path:
        return artifact_path(self._root, self._fingerprint, digest)

    def has(self, digest: str) -> bool:
        return digest in self._loaded or self.path_for(digest).exists()

    def load(self, digest: str) -> Component | None:
        """The compiled component for a hash if it is in memory or on disk, else None."""
        component = self._loaded.get(digest)
        if component is not None:
            return component
        path = self.path_for(digest)
        if not path.exists():
            return None
        try:
            component = Component.deserialize_file(self._engine, str(path))
        except wasmtime.WasmtimeError:
            path.unlink(missing_ok=True)
            return None
        self._loaded[digest] = component
        self.loaded_from_disk += 1
        return component

    def get(self, data: bytes, digest: str | None = None) -> Component:
        """Compile `data` (or reuse its cached artifact). Raises BadComponentError if it does not compile."""
        digest = digest or content_hash(data)
        component = self.load(digest)
        if component is not None:
            return component
        component = compile_component(self._engine, data)
        self.compiled += 1
        self._store(digest, component)
        self._loaded[digest] = component
        return component

    def _store(self, digest: str, component: Component) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        blob = component.serialize()
        fd, tmp = tempfile.mkstemp(dir=self._directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(tmp, self.path_for(digest))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def compile_component(engine: wasmtime.Engine, data: bytes) -> Component:
    """Compile component bytes; any failure is a one-line BadComponentError."""
    if not data.startswith(b"\0asm"):
        raise BadComponentError("not a WebAssembly binary (missing the \\0asm header)")
    try:
        return Component(engine, data)
    except wasmtime.WasmtimeError as error:
        raise BadComponentError(f"does not compile: {_compile_detail(str(error))}") from None


def _compile_detail(message: str) -> str:
    """The first line, except for a component beyond the pooling allocator's bounds
    (`engine.POOL_BOUNDS`), whose first line names only the kind of thing and whose last cause says
    what and by how much."""
    head = first_line(message)
    if "pooling allocator" not in head:
        return head
    cause = message.strip().splitlines()[-1].strip()
    return f"beyond the engine's bounds: {cause.split(': ', 1)[-1]}"


def first_line(message: str) -> str:
    """Wasmtime errors carry multi-line context and backtraces; users get the first meaningful line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    head = lines[0]
    if head.lower().startswith("error while executing") and len(lines) > 1:
        return lines[1]
    return head
