"""A real `tournament serve` on loopback (uvicorn in a subprocess) against a real database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

TOURNAMENT = Path(sys.executable).with_name("tournament")
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    """A running API server: its base URL, port and database URL."""

    url: str
    port: int
    db_url: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def start_server(db_url: str, log: Path) -> Iterator[Server]:
    """Run `tournament serve` until the generator is closed; fail with the server's log if it dies."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(TOURNAMENT), "serve", "--port", str(port), "--db", db_url],
            stdout=output, stderr=subprocess.STDOUT, env={**os.environ}, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", port, db_url)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    yield from start_server(db_url, tmp_path / "server.log")


@pytest.fixture(scope="session")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real components built from WAT: three legal players and one that plays an illegal move."""
    from tests.registry.conftest import MOVE_BODIES
    from tests.wasm_builders import build_component, core_wat

    folder = tmp_path_factory.mktemp("api-components")
    names = ("cycle", "paper", "illegal")
    return {name: build_component(core_wat(MOVE_BODIES[name]), folder / name) for name in names}


@pytest.fixture
def tokens(server: Server) -> dict[str, str]:
    """API tokens of the authors alice and bob and of the admin root, created as the operator would."""
    from tournament.persistence import open_database
    from tournament.services.authors import Actor, add_author

    with open_database(server.db_url) as db:
        return {
            name: add_author(db, name, is_admin=name == "root", actor=Actor.operator()).token
            for name in ("alice", "bob", "root")
        }
