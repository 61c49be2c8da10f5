"""WASI components play only when the organizer admits them, and the choice is recorded."""

from __future__ import annotations

from pathlib import Path

from tests.authoring.bad_components import wasi_random
from tests.cli.conftest import Cli, tournament_id
from tournament.orchestration.local import play_local_match
from tournament.persistence import open_database
from tournament.rules.forfeits import ForfeitReason
from tournament.services.tournaments import get_tournament

ROCK = Path(__file__).resolve().parents[2] / "strategies" / "build" / "constant.wasm"


def test_tournaments_admit_wasi_components_only_when_asked(sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli.add_strategy("dice", wasi_random(tmp_path))
    args = ("run", "--rounds", "30", "--seed", "3", "--strategies", "dice,constant", "--workers", "1")

    refused = sqlite_cli.rows(tournament_id(sqlite_cli(*args)))
    assert {r["forfeit_a"] or r["forfeit_b"] for r in refused} == {"bad-component"}

    admitted_id = tournament_id(sqlite_cli(*args, "--allow-wasi"))
    admitted = sqlite_cli.rows(admitted_id)
    assert all(not r["forfeit_a"] and not r["forfeit_b"] for r in admitted)
    dice_moves = {r["move_a"] if r["player_a"] == "dice" else r["move_b"] for r in admitted}
    assert len(dice_moves) > 1, "moves drawn from WASI randomness"
    db = open_database(sqlite_cli.db_url)
    try:
        assert get_tournament(db, admitted_id).config["allow_wasi"] is True
    finally:
        db.close()


def test_local_matches_follow_the_same_policy(tmp_path: Path) -> None:
    dice = wasi_random(tmp_path)
    refused = play_local_match(dice, ROCK, rounds=5)
    assert refused.first_forfeit_a is not None
    assert refused.first_forfeit_a.reason is ForfeitReason.BAD_COMPONENT
    admitted = play_local_match(dice, ROCK, rounds=5, allow_wasi=True)
    assert admitted.first_forfeit_a is None
    assert admitted.score.forfeits_a == 0
