"""Submissions meet tournaments: a tournament keeps the versions it snapshotted; forfeits are audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from tournament.persistence import Database, add_version, iter_export_rows
from tournament.services.submissions import audit_log
from tournament.services.tournaments import TournamentRequest, create_tournament, run_tournament

from .conftest import Components, submit


def _moves_of(db: Database, tournament_id: int, name: str) -> set[int | None]:
    with db.sessions() as session:
        rows = list(iter_export_rows(session, tournament_id))
    return {row.move_a if row.player_a == name else row.move_b for row in rows}


def test_a_created_tournament_keeps_its_versions_and_new_ones_pick_the_new_version(
    registry: Database, components: Components, tmp_path: Path
) -> None:
    first = submit(registry, components["paper"], "evolver")
    request = TournamentRequest(game="rps", rounds=10, seed=7, strategies=["evolver", "constant"])
    earlier = create_tournament(registry, request)
    second = submit(registry, components["scissors"], "evolver")
    assert (first.version.version, second.version.version) == ("1.0.0", "1.0.1")
    later = create_tournament(registry, request)

    played_earlier = run_tournament(registry, earlier, workers=1, cache_dir=tmp_path)
    played_later = run_tournament(registry, later, workers=1, cache_dir=tmp_path)

    by_name = {p.name: p for p in played_earlier.participants}
    assert by_name["evolver"].content_hash == first.version.content_hash
    assert {p.name: p for p in played_later.participants}[
        "evolver"
    ].content_hash == second.version.content_hash
    assert _moves_of(registry, earlier, "evolver") == {1}  # paper: version 1.0.0
    assert _moves_of(registry, later, "evolver") == {2}  # scissors: version 1.0.1


@pytest.mark.parametrize("workers", [1, 2], ids=["recorded-in-process", "recorded-by-workers"])
def test_forfeits_are_written_to_the_audit_log(
    registry: Database, components: Components, tmp_path: Path, workers: int
) -> None:
    with registry.sessions.begin() as session:
        # Stored directly: the trapper would (rightly) fail validation's smoke match.
        add_version(
            session, name="trapper", data=components["trap-at-5"], version="1.0.0", language="wat",
            games=("rps",), description="traps in round 5", deterministic=True,
        )  # fmt: skip
    submit(registry, components["paper"], "steady")
    request = TournamentRequest(game="rps", rounds=12, seed=3, strategies=["trapper", "steady", "constant"])
    tournament_id = create_tournament(registry, request)
    run_tournament(registry, tournament_id, workers=workers, cache_dir=tmp_path)

    forfeits = [event for event in audit_log(registry, "trapper") if event.kind == "forfeit"]
    assert len(forfeits) == 2
    assert {event.detail["opponent"] for event in forfeits} == {"steady", "constant"}
    for event in forfeits:
        assert event.actor == "engine"
        assert event.version == "1.0.0"
        assert event.match_id is not None
        assert event.detail["tournament_id"] == tournament_id
        assert event.detail["reason"] == "trap"
        assert event.detail["round"] == 5
        assert event.detail["forfeited_rounds"] == 7
        assert "unreachable" in str(event.detail["detail"])
    assert not [event for event in audit_log(registry, "steady") if event.kind == "forfeit"]
