"""Reading a match's rounds back a page at a time, with running scores, across round-block boundaries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tournament.persistence import (
    Database,
    MatchPlan,
    StrategyVersionInfo,
    create_tournament,
    record_match,
    round_blocks,
)
from tournament.persistence.results import match_rounds, rounds_before
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import RoundRecord

from .conftest import score_of, scripted_rounds

LONG = 1500
"""Rounds of the long match: one full block and part of a second."""
NO_FORFEITS: tuple[tuple[str | None, str | None], tuple[str | None, str | None]] = (
    (None, None),
    (None, None),
)


def _long_rounds() -> list[RoundRecord]:
    """Scripted rounds with a noisy round and forfeits on both sides of the first block boundary."""
    rounds = scripted_rounds(LONG)
    edge = round_blocks.BLOCK_ROUNDS
    rounds[edge - 1] = replace(rounds[edge - 1], move_a=None, payoff_a=-1, forfeit_a=ForfeitReason.TIMEOUT)
    rounds[edge] = replace(rounds[edge], noise_b=True, forfeit_b=ForfeitReason.ILLEGAL_MOVE, move_b=None)
    return rounds


@pytest.fixture
def long_match(database: Database, trio: list[StrategyVersionInfo]) -> list[RoundRecord]:
    """Match 1 played `LONG` rounds (stored as two blocks); match 2 is still pending."""
    a, b, _ = trio
    rounds = _long_rounds()
    with database.sessions.begin() as session:
        create_tournament(
            session,
            game="rps",
            rounds=LONG,
            repetitions=1,
            seed=5,
            noise=0.0,
            config={},
            engine_version="0.1.0",
            participants=[a, b],
            matches=[
                MatchPlan(0, 0, a.version_id, b.version_id, 1),
                MatchPlan(1, 1, b.version_id, a.version_id, 2),
            ],
        )
        record_match(session, 1, score=score_of(rounds), rounds=rounds, first_forfeits=NO_FORFEITS)
    return rounds


PAGES = [
    (0, None),
    (0, 10),
    (1000, 50),
    (1020, 4),
    (1023, 2),
    (1024, 10),
    (1019, 1024),
    (1490, 50),
    (LONG - 1, 1),
    (LONG, 10),
    (3000, 5),
    (7, 0),
    (600, None),
]


@pytest.mark.parametrize(("offset", "limit"), PAGES)
def test_a_page_reads_the_rounds_it_covers_whatever_blocks_they_are_in(
    database: Database, long_match: list[RoundRecord], offset: int, limit: int | None
) -> None:
    with database.sessions() as session:
        page = match_rounds(session, 1, offset=offset, limit=limit)
    assert page == long_match[offset : None if limit is None else offset + limit]


def test_running_scores_before_a_page_sum_across_block_boundaries(
    database: Database, long_match: list[RoundRecord]
) -> None:
    with database.sessions() as session:
        for offset in (0, 1, 1023, 1024, 1025, 1400, LONG - 1, LONG, LONG + 100):
            expected_a = sum(r.payoff_a for r in long_match[:offset])
            expected_b = sum(r.payoff_b for r in long_match[:offset])
            assert rounds_before(session, 1, offset) == (LONG, expected_a, expected_b), offset


def test_a_match_without_rounds_reads_as_empty(database: Database, long_match: list[RoundRecord]) -> None:
    with database.sessions() as session:
        assert match_rounds(session, 2) == []
        assert match_rounds(session, 2, offset=3, limit=5) == []
        assert rounds_before(session, 2, 10) == (0, 0, 0)
