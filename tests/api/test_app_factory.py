"""`create_app` in-process under a real uvicorn on loopback: nothing at import, no leaked tracebacks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tournament.api import create_app

from .conftest import free_port


def _crash() -> None:
    raise RuntimeError("secret internal state /etc/passwd")


@pytest.fixture
def app_with_a_crashing_route(tmp_path: Path) -> FastAPI:
    app = create_app(f"sqlite:///{tmp_path / 'api.db'}")
    app.add_api_route("/crash", _crash)
    return app


@pytest.fixture
def running(app_with_a_crashing_route: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app_with_a_crashing_route, host="127.0.0.1", port=port, log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_creating_the_app_opens_nothing(tmp_path: Path) -> None:
    create_app(f"sqlite:///{tmp_path / 'never.db'}")
    assert not (tmp_path / "never.db").exists()


def test_unexpected_errors_are_a_bare_500(running: str) -> None:
    response = httpx.get(f"{running}/crash")
    assert (response.status_code, response.json()) == (500, {"detail": "internal server error"})
    assert "secret" not in response.text
    # The app keeps serving.
    assert httpx.get(f"{running}/api/strategies").status_code == 200
