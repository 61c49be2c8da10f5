"""Readers' journey through the CLI: leaderboard, head-to-head and match replay agree with the stored data."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli
from tournament.persistence import open_database
from tournament.persistence.results import finished_outcomes
from tournament.services.ratings import rate_matches

FIELD = "beat-last,constant,rotate,rfind"


def test_leaderboard_h2h_and_match_replay(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    cli(
        "run", "--rounds", "100", "--seed", "1", "--strategies", FIELD, "--workers", "1", "--repetitions", "2"
    )
    cli("run", "--rounds", "100", "--seed", "2", "--strategies", FIELD, "--workers", "1")
    board = cli.json("leaderboard", "--game", "rps")
    assert [r["rank"] for r in board] == list(range(1, 5))
    assert sum(r["matches"] for r in board) == 2 * (6 * 2 + 6)
    assert all(abs(r["display"] - (r["mu"] - 3 * r["sigma"])) < 1e-5 for r in board)
    assert board == cli.json("leaderboard", "--game", "rps"), "rebuilding gives the same numbers"
    db = open_database(cli.db_url)
    try:
        with db.sessions() as session:
            rebuilt = rate_matches(finished_outcomes(session, "rps"))
    finally:
        db.close()
    assert [(r.strategy, r.mu, r.sigma) for r in rebuilt] == [
        (r["strategy"], r["mu"], r["sigma"]) for r in board
    ]

    h2h = json.loads(cli("h2h", "1", "--json").stdout)
    standings = {s["strategy"]: s for s in cli.json("standings", "1")}
    for name in FIELD.split(","):
        row = [c for c in h2h["cells"] if c["strategy"] == name]
        assert sum(c["wins"] for c in row) == standings[name]["wins"]
        assert sum(c["payoff"] for c in row) == standings[name]["total_payoff"]

    csv_rows = cli("export", "1", "--h2h").stdout.splitlines()
    assert csv_rows[0].startswith("strategy,opponent,matches,wins,draws,losses,payoff")
    assert len(csv_rows) == 1 + len(h2h["cells"]) == 1 + 4 * 3

    replay = json.loads(cli("match", "show", "1", "--json").stdout)
    rounds = replay["rounds"]
    assert len(rounds) == 100
    assert rounds[-1]["score_a"] == replay["match"]["total_a"]
    assert rounds[-1]["score_b"] == replay["match"]["total_b"]
    page = json.loads(cli("match", "show", "1", "--json", "--offset", "90", "--limit", "5").stdout)
    assert [r["round"] for r in page["rounds"]] == [90, 91, 92, 93, 94]
    assert page["rounds"][0]["score_a"] == rounds[90]["score_a"]
    text = cli("match", "show", "1").stdout
    assert "outcome" in text
    assert "round" in text


def test_unknown_match_and_game_are_one_line_errors(sqlite_cli: Cli) -> None:
    result = sqlite_cli("match", "show", "99", expect=2)
    assert result.stderr.strip() == "error: no match with id 99"
    result = sqlite_cli("leaderboard", "--game", "chess", expect=2)
    assert result.stderr.startswith("error: unknown game 'chess'")
    result = sqlite_cli("h2h", "5", expect=2)
    assert result.stderr.strip() == "error: no tournament with id 5"


def test_a_replay_page_spanning_two_round_blocks(sqlite_cli: Cli) -> None:
    """A 1,500-round match is stored as two blocks (1,024 + 476 rounds); a page across the boundary reads
    as the same rounds, with the same running score, as the whole replay does."""
    cli = sqlite_cli
    cli("run", "--rounds", "1500", "--seed", "3", "--strategies", "beat-last,rotate", "--workers", "1")
    replay = json.loads(cli("match", "show", "1", "--json").stdout)
    rounds = replay["rounds"]
    assert [r["round"] for r in rounds] == list(range(1500))
    assert (rounds[-1]["score_a"], rounds[-1]["score_b"]) == (
        replay["match"]["total_a"],
        replay["match"]["total_b"],
    )
    for offset, limit in ((1000, 50), (1024, 5), (1499, 10)):
        page = json.loads(
            cli("match", "show", "1", "--json", "--offset", str(offset), "--limit", str(limit)).stdout
        )
        assert page["rounds"] == rounds[offset : offset + limit], (offset, limit)
