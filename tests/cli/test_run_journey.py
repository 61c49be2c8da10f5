"""The organizer's journey through the CLI: run, standings, export, reproducibility, bad input."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli, tournament_id
from tournament.services.exports import ROUND_COLUMNS

FIELD = "beat-last,constant,rotate,uniform-random,rfind"
STANDING_KEYS = {"rank", "strategy", "points", "wins", "draws", "losses", "total_payoff", "mean_payoff"}


def test_run_creates_tournament_and_prints_standings(cli: Cli) -> None:
    result = cli(
        "run", "--game", "rps", "--rounds", "200", "--seed", "42", "--strategies", FIELD, "--workers", "1"
    )
    assert tournament_id(result) == 1
    assert "5 strategies, 10 matches x 200 rounds, seed 42" in result.stdout
    for name in FIELD.split(","):
        assert name in result.stdout
    standings = cli.json("standings", "1")
    assert [s["rank"] for s in standings] == sorted(s["rank"] for s in standings)
    assert all(set(s) >= STANDING_KEYS for s in standings)
    assert sorted(s["strategy"] for s in standings) == sorted(FIELD.split(","))
    # Every match is scored once: W + D + L over the field is twice the number of matches.
    assert sum(s["wins"] + s["draws"] + s["losses"] for s in standings) == 2 * 10


def test_json_run_output_equals_stored_standings(cli: Cli) -> None:
    ran = cli.json("run", "--rounds", "100", "--seed", "3", "--strategies", FIELD, "--workers", "1")
    assert ran == cli.json("standings", "1")
    beat_last = next(s for s in ran if s["strategy"] == "beat-last")
    constant = next(s for s in ran if s["strategy"] == "constant")
    assert int(beat_last["wins"]) >= 1
    assert int(constant["losses"]) >= 1


def test_export_rounds_has_header_labels_and_stable_order(cli: Cli) -> None:
    cli("run", "--rounds", "50", "--seed", "9", "--strategies", "beat-last,constant,rotate", "--workers", "1")
    rows = cli.rows(1)
    assert len(rows) == 3 * 50
    assert list(rows[0]) == list(ROUND_COLUMNS)
    assert set(ROUND_COLUMNS) >= {"match_id", "round", "player_a", "player_b", "move_a", "move_b", "payoff_a"}
    keys = [(int(r["match_id"]), int(r["round"])) for r in rows]
    assert keys == sorted(keys)
    assert {r["move_a"] for r in rows} <= {"rock", "paper", "scissors"}
    beat_last_vs_constant = [r for r in rows if {r["player_a"], r["player_b"]} == {"beat-last", "constant"}]
    assert (
        sum(
            1
            for r in beat_last_vs_constant[1:]
            if r["move_a" if r["player_a"] == "beat-last" else "move_b"] == "paper"
        )
        == 49
    )


@pytest.mark.slow
def test_same_seed_gives_byte_identical_exports_whatever_the_workers(cli: Cli) -> None:
    args = ("run", "--game", "rps", "--rounds", "300", "--seed", "11", "--repetitions", "2", "--noise", "0.1",
            "--strategies", "iocaine-powder,beat-frequent,rfind,bandit,uniform-random,flat")  # fmt: skip
    first = tournament_id(cli(*args, "--workers", "1"))
    second = tournament_id(cli(*args, "--workers", "2"))
    third = tournament_id(cli(*args, "--workers", "3"))
    exports = [cli("export", str(t), "--rounds").stdout for t in (first, second, third)]
    assert exports[0] == exports[1] == exports[2]
    assert exports[0].count("\n") == 1 + 15 * 2 * 300
    other_seed = tournament_id(cli(*args[:6], "12", *args[7:], "--workers", "2"))
    assert cli("export", str(other_seed), "--rounds").stdout != exports[0]


def test_noise_is_recorded_per_round_at_about_the_asked_rate(sqlite_cli: Cli) -> None:
    sqlite_cli("run", "--rounds", "1000", "--seed", "5", "--noise", "0.2", "--strategies", "constant,rotate",
               "--workers", "1")  # fmt: skip
    rows = sqlite_cli.rows(1)
    flipped = [r for r in rows if r["noise_a"] == "1"]
    assert 150 < len(flipped) < 250
    assert all(r["move_a"] != "rock" for r in flipped)  # constant plays rock; noise always changes the move
    assert all(r["move_a"] == "rock" for r in rows if r["noise_a"] == "0")


def test_repetitions_and_history_scope(sqlite_cli: Cli) -> None:
    result = sqlite_cli("run", "--rounds", "20", "--seed", "1", "--repetitions", "3", "--strategies",
                        "rfind,rotate,constant", "--workers", "2", "--history", "tournament")  # fmt: skip
    assert "9 matches x 20 rounds" in result.stdout
    rows = sqlite_cli.rows(1)
    assert sorted({r["repetition"] for r in rows}) == ["0", "1", "2"]


def test_ipd_ranks_by_mean_payoff_with_known_pairings(sqlite_cli: Cli) -> None:
    standings = sqlite_cli.json("run", "--game", "ipd", "--rounds", "200", "--seed", "1", "--workers", "2")
    names = {s["strategy"] for s in standings}
    assert names == {
        "alternator", "cooperator", "defector", "grudger", "suspicious-tit-for-tat", "tit-for-tat",
        "tit-for-two-tats", "win-stay-lose-shift",
    }  # fmt: skip
    means = [float(s["mean_payoff"]) for s in standings]
    assert means == sorted(means, reverse=True)
    rows = sqlite_cli.rows(1)

    def totals(a: str, b: str) -> tuple[int, int]:
        match = [r for r in rows if (r["player_a"], r["player_b"]) in {(a, b), (b, a)}]
        total_a = sum(int(r["payoff_a"] if r["player_a"] == a else r["payoff_b"]) for r in match)
        total_b = sum(int(r["payoff_b"] if r["player_a"] == a else r["payoff_a"]) for r in match)
        return total_a, total_b

    assert totals("tit-for-tat", "defector") == (199, 204)
    assert totals("cooperator", "defector") == (0, 1000)
    assert totals("tit-for-tat", "cooperator") == (600, 600)
    assert totals("grudger", "tit-for-tat") == (600, 600)
    assert totals("suspicious-tit-for-tat", "tit-for-tat") == (500, 500)
    assert totals("win-stay-lose-shift", "defector") == (100, 600)


@pytest.mark.slow
def test_iocaine_powder_wins_the_builtin_rps_round_robin(sqlite_cli: Cli) -> None:
    standings = sqlite_cli.json("run", "--game", "rps", "--rounds", "1000", "--seed", "42", "--workers", "2")
    assert standings[0]["strategy"] == "iocaine-powder"
    assert standings[0]["rank"] == 1
    assert standings[1]["rank"] == 2
    assert len(standings) >= 12


def test_rpsls_plays_with_the_rps_family(sqlite_cli: Cli) -> None:
    sqlite_cli("run", "--game", "rpsls", "--rounds", "100", "--seed", "2", "--strategies",
               "beat-last,constant", "--workers", "1")  # fmt: skip
    rows = sqlite_cli.rows(1)
    assert {r["move_a"] for r in rows} | {r["move_b"] for r in rows} <= {
        "rock",
        "paper",
        "scissors",
        "spock",
        "lizard",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--game", "chess"), "unknown game 'chess'"),
        (("run", "--strategies", "constant,nosuch"), "unknown strategy 'nosuch'"),
        (("run", "--strategies", "constant,tit-for-tat"), "tit-for-tat"),
        (("run", "--strategies", "constant"), "at least 2 strategies"),
        (("run", "--noise", "1.5"), "noise must be a probability"),
        (("run", "--rounds", "0"), "rounds must be between 1"),
        (("run", "--seed", "-4"), "seed must be between 0"),
        (("run", "--history", "forever"), "--history must be one of"),
        (("run", "--workers", "0"), "--workers must be at least 1"),
        (("run", "--fuel-per-move", "0"), "fuel_per_move must be a positive integer"),
        (("standings", "99"), "no tournament with id 99"),
        (("export", "99", "--rounds"), "no tournament with id 99"),
        (("export", "1"), "choose exactly one of --rounds, --standings or --h2h"),
    ],
)
def test_bad_input_gets_one_line_and_nonzero_exit(
    sqlite_cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = sqlite_cli(*args, expect=2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr


def test_bad_database_url_is_one_line(tmp_path: object) -> None:
    result = Cli("mysql://nobody@127.0.0.1:1/x")("standings", "1", expect=1)
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_input_leaves_stored_results_intact(sqlite_cli: Cli) -> None:
    sqlite_cli("run", "--rounds", "30", "--seed", "4", "--strategies", "constant,rotate", "--workers", "1")
    before = sqlite_cli("export", "1", "--rounds").stdout
    sqlite_cli("run", "--strategies", "constant,nosuch", expect=2)
    sqlite_cli("run", "--noise", "7", expect=2)
    assert sqlite_cli("export", "1", "--rounds").stdout == before
    assert len(sqlite_cli.json("standings", "1")) == 2
