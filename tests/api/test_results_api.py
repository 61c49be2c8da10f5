"""The results API against a real server on loopback: the same numbers as the CLI's `--json` output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import Server, start_server
from tests.cli.conftest import Cli

FIELD = "beat-last,constant,rotate,rfind"


@pytest.fixture
def played(db_url: str, tmp_path: Path) -> Iterator[tuple[Server, Cli]]:
    """Two small rps tournaments run by the real CLI, then a server over the same database."""
    cli = Cli(db_url)
    cli("run", "--rounds", "30", "--seed", "1", "--strategies", FIELD, "--workers", "1", "--repetitions", "2")
    cli("run", "--rounds", "30", "--seed", "2", "--strategies", FIELD, "--workers", "1")
    yield from ((server, cli) for server in start_server(db_url, tmp_path / "server.log"))


def get(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def instant(match: dict[str, Any]) -> dict[str, Any]:
    """The match with its timestamp parsed: the CLI prints `str(datetime)`, the API ISO 8601."""
    stamp = match["finished_at"]
    return {**match, "finished_at": None if stamp is None else datetime.fromisoformat(stamp)}


def test_every_endpoint_shows_the_cli_numbers(played: tuple[Server, Cli]) -> None:
    server, cli = played
    with server.client() as client:
        listed = get(client, "/api/tournaments")
        assert listed["total"] == 2
        assert [t["id"] for t in listed["items"]] == [2, 1], "newest first"
        first = listed["items"][1]
        assert (first["participants"], first["matches_finished"], first["matches_total"]) == (4, 12, 12)
        assert first["status"] == "finished"
        assert first["rounds"] == 30
        assert first["repetitions"] == 2
        assert get(client, "/api/tournaments", game="rps", status="finished", limit=1, offset=1)["items"] == [
            first
        ]
        assert get(client, "/api/tournaments", status="running")["total"] == 0

        detail = get(client, "/api/tournaments/1")
        assert [p["name"] for p in detail["participants"]] == FIELD.split(",")
        assert all(len(p["content_hash"]) == 64 and p["version"] for p in detail["participants"])
        assert (detail["matches_finished"], detail["matches_total"], detail["seed"]) == (12, 12, 1)

        for tournament in ("1", "2"):
            assert get(client, f"/api/tournaments/{tournament}/standings") == cli.json(
                "standings", tournament
            )
            h2h = json.loads(cli("h2h", tournament, "--json").stdout)
            assert get(client, f"/api/tournaments/{tournament}/h2h") == h2h

        board = cli.json("leaderboard", "--game", "rps")
        ratings = get(client, "/api/ratings", game="rps")
        assert (ratings["total"], ratings["items"]) == (4, board)
        assert get(client, "/api/ratings", limit=2, offset=1)["items"] == board[1:3]

        matches = get(client, "/api/tournaments/1/matches", limit=5, offset=3)
        assert (matches["total"], len(matches["items"])) == (12, 5)
        assert [m["position"] for m in matches["items"]] == [3, 4, 5, 6, 7]
        mine = get(client, "/api/tournaments/1/matches", strategy="rotate", limit=500)
        assert mine["total"] == 6
        assert all("rotate" in (m["strategy_a"], m["strategy_b"]) for m in mine["items"])

        match_id = matches["items"][0]["match_id"]
        shown = json.loads(cli("match", "show", str(match_id), "--json").stdout)
        assert get(client, f"/api/matches/{match_id}") == matches["items"][0]
        assert instant(matches["items"][0]) == instant(shown["match"])
        page = get(client, f"/api/matches/{match_id}/rounds")
        assert (page["total"], page["offset"], page["limit"]) == (30, 0, 200)
        assert (instant(page["match"]), page["rounds"]) == (instant(shown["match"]), shown["rounds"])
        later = get(client, f"/api/matches/{match_id}/rounds", offset=12, limit=5)
        cli_later = json.loads(
            cli("match", "show", str(match_id), "--offset", "12", "--limit", "5", "--json").stdout
        )
        assert later["rounds"] == cli_later["rounds"] == shown["rounds"][12:17], "running scores at an offset"
        assert get(client, f"/api/matches/{match_id}/rounds", offset=30)["rounds"] == []

        history = get(client, "/api/strategies/rotate/history", game="rps")
        assert [entry["tournament_id"] for entry in history["tournaments"]] == [1, 2]
        for entry in history["tournaments"]:
            standing = next(
                s for s in cli.json("standings", str(entry["tournament_id"])) if s["strategy"] == "rotate"
            )
            assert (entry["rank"], entry["points"], entry["mean_payoff"]) == (
                standing["rank"], standing["points"], standing["mean_payoff"],
            )  # fmt: skip
        final = next(r for r in board if r["strategy"] == "rotate")
        last = history["tournaments"][-1]["rating"]
        assert (last["mu"], last["sigma"], last["display"]) == (final["mu"], final["sigma"], final["display"])

        cli("run", "--rounds", "30", "--seed", "3", "--strategies", "rotate,constant", "--workers", "1")
        board = cli.json("leaderboard", "--game", "rps")
        assert get(client, "/api/ratings")["items"] == board, "the cached replay follows new matches"
        assert get(client, "/api/tournaments/3/standings") == cli.json("standings", "3")
        assert len(get(client, "/api/strategies/rotate/history")["tournaments"]) == 3


def test_unknown_ids_and_bad_parameters(played: tuple[Server, Cli]) -> None:
    server, _ = played
    with server.client() as client:
        for path in (
            "/api/tournaments/99",
            "/api/tournaments/99/standings",
            "/api/tournaments/99/h2h",
            "/api/tournaments/99/matches",
            "/api/matches/99999",
            "/api/matches/99999/rounds",
            "/api/strategies/no-such-thing/history",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            assert set(response.json()) == {"detail"}
            assert "no " in response.json()["detail"]
        for path, params in (
            ("/api/tournaments", {"limit": 0}),
            ("/api/tournaments", {"limit": 501}),
            ("/api/tournaments", {"offset": -1}),
            ("/api/tournaments", {"status": "nope"}),
            ("/api/tournaments", {"game": "chess"}),
            ("/api/tournaments/abc", {}),
            ("/api/matches/1/rounds", {"limit": 1001}),
            ("/api/ratings", {"game": "chess"}),
            ("/api/tournaments/1/matches", {"strategy": "Not A Name"}),
        ):
            response = client.get(path, params=params)
            assert response.status_code == 422, (path, params, response.text)
            assert list(response.json()) == ["detail"]
        assert client.get("/api/strategies/Bad_Name/history").status_code == 400
