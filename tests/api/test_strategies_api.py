"""The HTTP API against a real server: uploads with tokens, ownership, rejections, conflicts, reads."""

from __future__ import annotations

import httpx
import pytest

from tournament.persistence import active_versions, open_database

from .conftest import Server

ENDPOINT = "/api/strategies/{name}/versions"


def upload(client: httpx.Client, name: str, data: bytes, **fields: str) -> httpx.Response:
    """POST a component as the multipart field `file`, with optional text fields."""
    files = {"file": ("strategy.wasm", data, "application/wasm")}
    return client.post(ENDPOINT.format(name=name), files=files, data=fields)


@pytest.mark.slow
def test_upload_journey(server: Server, tokens: dict[str, str], components: dict[str, bytes]) -> None:
    alice, bob, root = (server.client(tokens[name]) for name in ("alice", "bob", "root"))
    anonymous = server.client()
    url = ENDPOINT.format(name="cycler")

    created = upload(alice, "cycler", components["cycle"], games="rps,rpsls", language="wat")
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["outcome"], body["message"]) == ("stored", "stored cycler 1.0.0 (active)")
    assert body["version"]["status"] == "active"
    assert body["report"]["passed"] is True
    assert [check["status"] for check in body["report"]["checks"]] == ["pass"] * 7

    same = upload(alice, "cycler", components["cycle"])
    assert same.status_code == 200
    assert same.json()["message"] == "identical to version 1.0.0 of cycler (state active): nothing stored"

    rejected = upload(alice, "cycler", components["illegal"])
    assert rejected.status_code == 422
    problem = rejected.json()
    assert problem["detail"].startswith("rejected: cycler 1.0.1 failed validation: smoke-match: vs ")
    assert problem["report"]["passed"] is False
    assert problem["version"]["status"] == "rejected"
    assert problem["rejection_reasons"][0].startswith("smoke-match: ")

    detail = anonymous.get("/api/strategies/cycler").json()
    assert detail["owner"] == "alice"
    assert detail["current_version"] == "1.0.0"
    assert [(v["version"], v["status"]) for v in detail["versions"]] == [
        ("1.0.1", "rejected"),
        ("1.0.0", "active"),
    ]
    assert detail["versions"][0]["rejection_reasons"] == problem["rejection_reasons"]
    assert detail["versions"][1]["report"]["fuel_max"] is not None

    missing = upload(anonymous, "cycler", components["paper"])
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    assert missing.json() == {"detail": "missing API token: send the header 'Authorization: Bearer TOKEN'"}
    invalid = upload(server.client("tsk_not-a-token"), "cycler", components["paper"])
    assert (invalid.status_code, invalid.json()) == (401, {"detail": "invalid API token"})
    foreign = upload(bob, "cycler", components["paper"])
    assert (foreign.status_code, foreign.json()) == (
        403, {"detail": "'bob' may not submit versions of 'cycler': it is owned by 'alice'"},
    )  # fmt: skip
    taken = upload(alice, "cycler", components["paper"], version="1.0.0")
    assert taken.status_code == 409
    assert taken.json()["detail"].startswith("cycler already has a version 1.0.0 with different bytes")
    builtin = upload(root, "rotate", components["paper"])
    assert (builtin.status_code, builtin.json()["detail"]) == (
        409, "'rotate' is a built-in strategy; choose another name",
    )  # fmt: skip
    bad_name = upload(alice, "Bad_Name", components["paper"])
    assert bad_name.status_code == 400
    assert bad_name.json()["detail"].startswith("invalid strategy name 'Bad_Name'")
    bad_game = upload(alice, "cycler", components["paper"], games="chess")
    assert (bad_game.status_code, bad_game.json()["detail"]) == (
        400, "unknown game 'chess' (known: rps, rpsls, ipd)",
    )  # fmt: skip
    no_file = alice.post(url, data={"version": "3.0.0"}, files={"other": ("x", b"x")})
    assert (no_file.status_code, no_file.json()["detail"]) == (
        422, "missing the component: send it as the multipart file field 'file'",
    )  # fmt: skip

    # An admin may add a version; the running server's new version is what new tournaments pick.
    by_admin = upload(root, "cycler", components["paper"])
    assert (by_admin.status_code, by_admin.json()["version"]["version"]) == (201, "1.0.2")
    with open_database(server.db_url) as db, db.sessions() as session:
        assert [v.version for v in active_versions(session, "rps", ["cycler"])] == ["1.0.2"]

    refused = bob.post("/api/strategies/cycler/retire")
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "'bob' may not retire 'cycler': it is owned by 'alice'",
    )
    retired = alice.post("/api/strategies/cycler/retire")
    assert retired.status_code == 200
    assert retired.json()["message"] == "retired cycler 1.0.2; new tournaments use cycler 1.0.0"
    chosen = alice.post("/api/strategies/cycler/retire", json={"version": "1.0.1"})
    assert (chosen.json()["changed"], chosen.json()["current_version"]) == (True, "1.0.0")
    assert alice.post("/api/strategies/nope/retire").status_code == 404

    listed = {row["name"]: row for row in anonymous.get("/api/strategies").json()}
    assert (listed["cycler"]["version"], listed["cycler"]["owner"]) == ("1.0.0", "alice")
    assert listed["rotate"]["builtin"] is True

    events = anonymous.get("/api/audit", params={"strategy": "cycler", "limit": 3}).json()
    assert [(e["kind"], e["actor"], e["version"]) for e in events] == [
        ("state-changed", "alice", "1.0.1"), ("state-changed", "alice", "1.0.2"),
        ("state-changed", "root", "1.0.2"),
    ]  # fmt: skip
    assert events[0]["detail"] == {"version": "1.0.1", "from": "rejected", "to": "retired"}
    kinds = {e["kind"] for e in anonymous.get("/api/audit", params={"limit": 1000}).json()}
    assert kinds == {"author-created", "submitted", "validated", "state-changed"}

    assert anonymous.get("/api/strategies/nope").json() == {"detail": "unknown strategy 'nope'"}
    assert anonymous.get("/api/audit", params={"strategy": "nope"}).status_code == 404
    too_many = anonymous.get("/api/audit", params={"limit": 0})
    assert (too_many.status_code, too_many.json()) == (
        422, {"detail": "invalid request: query 'limit': Input should be greater than or equal to 1"},
    )  # fmt: skip
