"""The upload size cap is enforced before the body is read; OpenAPI documents every endpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tournament.authoring.policy import DEFAULT_MAX_SIZE

from .conftest import Server, start_server

CAP_MESSAGE = f"upload too large: a component may be at most 64 MiB ({DEFAULT_MAX_SIZE:,} bytes)"


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("api")
    yield from start_server(f"sqlite:///{folder / 'api.db'}", folder / "server.log")


@pytest.fixture(scope="module")
def token(sqlite_server: Server) -> str:
    from tournament.persistence import open_database
    from tournament.services.authors import Actor, add_author

    with open_database(sqlite_server.db_url) as db:
        return add_author(db, "alice", actor=Actor.operator()).token


def _raw_request(server: Server, head: str, body: bytes) -> tuple[int, str]:
    """Send a request's head and only the start of its body; return the status line code and the body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(head.encode() + body)
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            response += chunk
    status_line, _, rest = response.decode().partition("\r\n")
    return int(status_line.split()[1]), rest.split("\r\n\r\n", 1)[1]


def test_a_declared_size_over_the_cap_is_refused_without_reading_the_body(
    sqlite_server: Server, token: str
) -> None:
    head = (
        "POST /api/strategies/huge/versions HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=cut\r\n"
        f"Content-Length: {DEFAULT_MAX_SIZE * 2}\r\n\r\n"
    )
    status, body = _raw_request(sqlite_server, head, b"--cut\r\n")
    assert status == 413
    assert body == '{"detail":"' + CAP_MESSAGE + '"}'


def test_a_streamed_body_over_the_cap_is_cut_off(sqlite_server: Server, token: str) -> None:
    def body() -> Iterator[bytes]:
        yield (
            b'--cut\r\nContent-Disposition: form-data; name="file"; filename="huge.wasm"\r\n'
            b"Content-Type: application/wasm\r\n\r\n"
        )
        block = b"\0" * (1 << 20)
        for _ in range(DEFAULT_MAX_SIZE // len(block) + 2):
            yield block

    with httpx.Client(base_url=sqlite_server.url, timeout=60) as client:
        response = client.post(
            "/api/strategies/huge/versions",
            content=body(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=cut"},
        )
        assert (response.status_code, response.json()) == (413, {"detail": CAP_MESSAGE})
        assert client.get("/api/strategies/huge").status_code == 404


def test_openapi_documents_the_api(sqlite_server: Server) -> None:
    spec = httpx.get(f"{sqlite_server.url}/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/api/strategies", "/api/strategies/{name}", "/api/strategies/{name}/versions",
        "/api/strategies/{name}/retire", "/api/audit",
        "/api/tournaments", "/api/tournaments/{tournament_id}", "/api/tournaments/{tournament_id}/standings",
        "/api/tournaments/{tournament_id}/h2h", "/api/tournaments/{tournament_id}/matches",
        "/api/matches/{match_id}", "/api/matches/{match_id}/rounds", "/api/ratings",
        "/api/strategies/{name}/history",
    }  # fmt: skip
    upload = spec["paths"]["/api/strategies/{name}/versions"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert {"201", "200", "401", "403", "409", "413", "422"} <= set(upload["responses"])
    assert upload["security"] == [{"HTTPBearer": []}]
    assert httpx.get(f"{sqlite_server.url}/nowhere").json() == {"detail": "Not Found"}


def test_serve_refuses_a_bad_database_url_with_one_line(tmp_path: Path) -> None:
    import subprocess

    from .conftest import TOURNAMENT

    result = subprocess.run(
        [str(TOURNAMENT), "serve", "--port", "1", "--db", "mysql://nowhere/db"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: unsupported database 'mysql'")
    assert "Traceback" not in result.stderr
