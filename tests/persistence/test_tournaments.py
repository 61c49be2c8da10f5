"""Tournaments: creation, recording matches exactly once, history fed back to strategies, export order."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import astuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import exc, func, select

from tournament.persistence import (
    Database,
    MatchAlreadyRecordedError,
    MatchPlan,
    StrategyVersionInfo,
    UnknownMatchError,
    UnknownTournamentError,
    create_tournament,
    get_tournament,
    iter_export_rows,
    list_matches,
    list_tournaments,
    match_counts,
    match_logs,
    match_summaries,
    meeting_history,
    record_match,
    round_blocks,
    set_status,
)
from tournament.persistence.models import Match, MatchLog, RoundBlock, Tournament, utcnow
from tournament.persistence.tournaments import (
    fail_match,
    failed_matches,
    lease_state,
    matches_to_play,
    pending_matches,
    prepare_match,
    release_if_finished,
    reset_failed_matches,
    run_state,
    write_match,
)
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import RoundLog, RoundRecord, RoundRow
from tournament.rules.scoring import MatchOutcome

from .conftest import add_strategy, score_of, scripted_rounds

NO_FORFEITS: tuple[tuple[str | None, str | None], tuple[str | None, str | None]] = (
    (None, None),
    (None, None),
)


def round_robin(players: Sequence[StrategyVersionInfo], repetitions: int = 1) -> list[MatchPlan]:
    plans: list[MatchPlan] = []
    for repetition in range(repetitions):
        for i, a in enumerate(players):
            for b in players[i + 1 :]:
                position = len(plans)
                plans.append(
                    MatchPlan(position, repetition, a.version_id, b.version_id, seed=1000 + position)
                )
    return plans


def new_tournament(
    database: Database,
    players: Sequence[StrategyVersionInfo],
    *,
    plans: Sequence[MatchPlan] | None = None,
    game: str = "rps",
    seed: int = 42,
) -> int:
    with database.sessions.begin() as session:
        return create_tournament(
            session,
            game=game,
            rounds=5,
            repetitions=1,
            seed=seed,
            noise=0.0,
            config={"fuel_per_move": 1_000_000, "memory_mb": 16},
            engine_version="0.1.0",
            participants=players,
            matches=round_robin(players) if plans is None else plans,
        )


def play(
    database: Database,
    match_id: int,
    rounds: Sequence[RoundRecord],
    logs: Sequence[tuple[str, int, str]] = (),
) -> None:
    with database.sessions.begin() as session:
        record_match(
            session, match_id, score=score_of(rounds), rounds=rounds, first_forfeits=NO_FORFEITS, logs=logs
        )


def _logs(database: Database, match_id: int) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).where(MatchLog.match_id == match_id)) or 0


def _rounds(database: Database, match_id: int) -> int:
    """How many rounds the match's stored blocks hold."""
    with database.sessions() as session:
        return session.scalar(select(func.sum(RoundBlock.rounds)).where(RoundBlock.match_id == match_id)) or 0


def test_ids_start_at_one_and_tournament_round_trips(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    first = new_tournament(database, trio, seed=2**63 - 1)
    second = new_tournament(database, list(reversed(trio)))
    assert (first, second) == (1, 2)
    with database.sessions() as session:
        info = get_tournament(session, first)
        assert info.seed == 2**63 - 1
        assert info.status == "pending"
        assert info.config == {"fuel_per_move": 1_000_000, "memory_mb": 16}
        assert info.participants == tuple(trio)
        assert info.created_at.tzinfo is not None
        assert [p.name for p in get_tournament(session, second).participants] == ["gamma", "beta", "alpha"]
        matches = list_matches(session, first)
        assert [m.match_id for m in matches] == [1, 2, 3]
        assert [(m.strategy_a, m.strategy_b) for m in matches] == [
            ("alpha", "beta"),
            ("alpha", "gamma"),
            ("beta", "gamma"),
        ]
        assert all(m.status == "pending" for m in matches)
        assert [t.id for t in list_tournaments(session)] == [2, 1]
        assert match_counts(session, first) == (0, 3)


def test_plain_reads_through_a_core_connection_read_what_the_orm_reads(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    tournament_id = new_tournament(database, trio)
    with database.sessions.begin() as session:
        set_status(session, tournament_id, "failed", error="worker died")
    with database.sessions() as session:
        (orm,) = list_tournaments(session)
        from_session = run_state(session, tournament_id)
    with database.engine.connect() as connection:
        info, lease = run_state(connection, tournament_id)
        assert lease == lease_state(connection, tournament_id) == from_session[1]
        with pytest.raises(UnknownTournamentError, match="no tournament with id 7"):
            run_state(connection, 7)
    assert info == orm == from_session[0]
    assert (lease.status, lease.runner, lease.cancel_requested) == ("failed", None, False)
    assert (lease.started_at, lease.created_at) == (info.started_at, info.created_at)


def test_matches_to_play_makes_failed_matches_pending_again(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    tournament_id = new_tournament(database, trio)
    with database.sessions() as session:
        info = get_tournament(session, tournament_id)
        every = pending_matches(session, info)
    with database.engine.begin() as connection:
        assert matches_to_play(connection, info) == every  # nothing failed: one read, nothing written
    with database.sessions.begin() as session:
        assert fail_match(session, every[1].match_id, "worker process died twice")
    with database.sessions() as session:
        assert [m.match_id for m in pending_matches(session, info)] == [every[0].match_id, every[2].match_id]
    with database.engine.begin() as connection:
        assert matches_to_play(connection, info) == every
    with database.sessions() as session:
        assert failed_matches(session, tournament_id) == []
        assert pending_matches(session, info) == every
        assert [m.status for m in list_matches(session, tournament_id)] == ["pending"] * 3


def test_release_if_finished_needs_the_lease_and_every_match_finished(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    tournament_id = new_tournament(database, trio)
    with database.sessions.begin() as session:
        set_status(session, tournament_id, "running")
        row = session.get(Tournament, tournament_id)
        assert row is not None
        row.runner, row.heartbeat_at = "here:1:a", utcnow()
    for match_id in (1, 2):
        play(database, match_id, scripted_rounds(2))
    now = utcnow()
    with database.engine.begin() as connection:
        assert not release_if_finished(connection, tournament_id, runner="here:1:a", now=now)  # one to play
    play(database, 3, scripted_rounds(2))
    with database.engine.begin() as connection:
        assert not release_if_finished(connection, tournament_id, runner="elsewhere:2:b", now=now)
        info, lease = run_state(connection, tournament_id)
    assert (info.status, lease.runner) == ("running", "here:1:a")
    with database.engine.begin() as connection:
        assert release_if_finished(connection, tournament_id, runner="here:1:a", now=now)
    with database.sessions() as session:
        info, lease = run_state(session, tournament_id)
    assert (info.status, info.error, info.finished_at) == ("finished", None, now)
    assert (lease.runner, lease.heartbeat_at) == (None, None)


def test_plain_statements_raise_driver_errors_as_sqlalchemy_errors(database: Database) -> None:
    from tournament.persistence import tournaments

    with database.engine.connect() as connection, pytest.raises(exc.DBAPIError, match="no_such_column"):
        tournaments._plain(connection, "SELECT no_such_column FROM tournaments WHERE id = ?", (1,))


def test_unknown_tournament(database: Database) -> None:
    with database.sessions() as session:
        with pytest.raises(UnknownTournamentError) as raised:
            get_tournament(session, 7)
        assert str(raised.value) == "no tournament with id 7"
        with pytest.raises(UnknownTournamentError):
            list(iter_export_rows(session, 7))
    with database.sessions.begin() as session, pytest.raises(UnknownTournamentError):
        set_status(session, 7, "running")


def test_create_tournament_validates_its_input(database: Database, trio: list[StrategyVersionInfo]) -> None:
    outsider = add_strategy(database, "outsider")
    bad_plans = [MatchPlan(0, 0, trio[0].version_id, outsider.version_id, seed=1)]
    with pytest.raises(ValueError, match="not a participant"):
        new_tournament(database, trio, plans=bad_plans)
    with pytest.raises(ValueError, match="out of range"):
        new_tournament(database, trio, seed=2**63)
    with pytest.raises(ValueError, match="listed twice"):
        new_tournament(database, [trio[0], trio[0]], plans=[])
    with database.sessions() as session:
        assert list_tournaments(session) == []


def test_set_status_stamps_times(database: Database, trio: list[StrategyVersionInfo]) -> None:
    tournament_id = new_tournament(database, trio)
    with database.sessions.begin() as session:
        set_status(session, tournament_id, "running")
    with database.sessions() as session:
        running = get_tournament(session, tournament_id)
    assert running.started_at is not None
    assert running.finished_at is None
    with database.sessions.begin() as session:
        set_status(session, tournament_id, "failed", error="worker died")
    with database.sessions() as session:
        failed = get_tournament(session, tournament_id)
    assert failed.finished_at is not None
    assert failed.error == "worker died"
    with database.sessions.begin() as session:
        set_status(session, tournament_id, "running")
        set_status(session, tournament_id, "finished")
    with database.sessions() as session:
        done = get_tournament(session, tournament_id)
    assert done.started_at == running.started_at
    assert done.error is None
    assert done.finished_at is not None
    assert done.status == "finished"
    with database.sessions.begin() as session, pytest.raises(ValueError, match="invalid tournament status"):
        set_status(session, tournament_id, "done")


def test_record_match_stores_rounds_score_and_logs(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    tournament_id = new_tournament(database, trio)
    rounds = [
        *scripted_rounds(3),
        RoundRecord(3, None, 1, -1, 1, forfeit_a=ForfeitReason.FUEL, fuel_a=10**12),
    ]
    with database.sessions.begin() as session:
        record_match(
            session,
            1,
            score=score_of(rounds),
            rounds=rounds,
            first_forfeits=((ForfeitReason.FUEL, "used 1000000 fuel"), (None, None)),
            logs=[("a", 0, "hello"), ("b", 2, "thinking"), ("a", 3, "bye")],
        )
    with database.sessions() as session:
        assert [m.status for m in list_matches(session, tournament_id)] == ["finished", "pending", "pending"]
        assert [m.match_id for m in list_matches(session, tournament_id, pending_only=True)] == [2, 3]
        row = session.get_one(Match, 1)
        assert (row.outcome, row.rounds_played, row.forfeits_a, row.forfeit_reason_a, row.detail_a) == (
            "b",
            4,
            1,
            "fuel",
            "used 1000000 fuel",
        )
        assert row.finished_at is not None
        ((name_a, name_b, score),) = match_summaries(session, tournament_id)
        assert (name_a, name_b, score) == ("alpha", "beta", score_of(rounds))
        assert score.outcome is MatchOutcome.B_WINS
        assert match_logs(session, 1) == [("a", 0, "hello"), ("b", 2, "thinking"), ("a", 3, "bye")]
        exported = list(iter_export_rows(session, tournament_id))
        assert exported[3].move_a is None
        assert exported[3].forfeit_a == "fuel"
        assert exported[3].fuel_a == 10**12
        assert match_counts(session, tournament_id) == (1, 3)


_REASONS = st.none() | st.sampled_from(list(ForfeitReason))


@st.composite
def round_logs(draw: st.DrawFn) -> RoundLog:
    """Rounds mixing plain ones with noisy and forfeited ones, in any order (storage binds them apart)."""
    count = draw(st.integers(0, 12))
    rows: list[RoundRow] = []
    for index in range(count):
        forfeit_a, forfeit_b = draw(_REASONS), draw(_REASONS)
        rows.append(
            (
                index,
                None if forfeit_a is not None else draw(st.integers(0, 2)),
                None if forfeit_b is not None else draw(st.integers(0, 2)),
                draw(st.integers(-5, 5)),
                draw(st.integers(-5, 5)),
                draw(st.booleans()),
                draw(st.booleans()),
                forfeit_a,
                forfeit_b,
                draw(st.integers(0, 10**12)),
                draw(st.integers(0, 10**12)),
            )
        )
    return RoundLog(rows)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=round_logs())
def test_recorded_rounds_read_back_exactly_whatever_their_mix(
    database: Database, trio: list[StrategyVersionInfo], rounds: RoundLog
) -> None:
    tournament_id = new_tournament(database, trio)
    play(database, list_matches_ids(database, tournament_id)[0], rounds)
    with database.sessions() as session:
        stored = [(row.round, *astuple(row)[5:]) for row in iter_export_rows(session, tournament_id)]
    assert stored == [_stored(row) for row in rounds.rows]


def _stored(row: RoundRow) -> tuple[object, ...]:
    """A round as the export reads it back (forfeit reasons by value)."""
    return (
        *row[:7],
        None if row[7] is None else row[7].value,
        None if row[8] is None else row[8].value,
        *row[9:],
    )


def _made_round(index: int, kind: str) -> RoundRow:
    """Round `index` of a match whose rounds are all plain, all other (noisy or forfeited), mixed, or
    all forfeited by A (a column of other rows that is all NULL)."""
    if kind == "forfeits":
        return (index, None, 1, -1, 1, False, False, ForfeitReason.FUEL, None, 0, 7)
    other = kind == "other" or (kind == "mixed" and index % 7 == 3)
    if not other:
        return (index, index % 3, 1, index % 5 - 2, 2 - index % 5, False, False, None, None, index, 10**12)
    if index % 2:
        return (index, None, 2, -1, 1, False, index % 4 == 1, ForfeitReason.TRAP, None, 0, 5)
    return (index, 0, 1, 0, 0, True, False, None, None, 2**40 + index, index)


def test_rounds_crossing_block_boundaries_read_back_exactly(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    chunk = round_blocks.BLOCK_ROUNDS
    sizes = (1, chunk, chunk + 1, 2 * chunk + 1)
    cases = [*((size, kind) for kind in ("plain", "other", "mixed") for size in sizes), (0, "plain")]
    cases += [(1, "forfeits"), (chunk + 1, "forfeits")]
    plans = [
        MatchPlan(position, 0, trio[position % 2].version_id, trio[2].version_id, seed=position)
        for position in range(len(cases) + 1)
    ]
    tournament_id = new_tournament(database, trio, plans=plans)
    logs = [[_made_round(index, kind) for index in range(size)] for size, kind in cases]
    # Exactly one block of plain rounds with one other round after them.
    logs.append([*(_made_round(index, "plain") for index in range(chunk)), _made_round(chunk, "other")])
    match_ids = list_matches_ids(database, tournament_id)
    with database.sessions.begin() as session:
        for match_id, rows in zip(match_ids, logs, strict=True):
            rounds = RoundLog(rows)
            record_match(session, match_id, score=score_of(rounds), rounds=rounds, first_forfeits=NO_FORFEITS)
    with database.sessions() as session:
        stored: dict[int, list[tuple[object, ...]]] = {match_id: [] for match_id in match_ids}
        for row in iter_export_rows(session, tournament_id):
            stored[row.match_id].append((row.round, *astuple(row)[5:]))
        assert match_counts(session, tournament_id) == (len(logs), len(logs))
    for match_id, rows in zip(match_ids, logs, strict=True):
        assert stored[match_id] == [_stored(row) for row in rows]


def list_matches_ids(database: Database, tournament_id: int) -> list[int]:
    with database.sessions() as session:
        return [m.match_id for m in list_matches(session, tournament_id)]


def test_recording_twice_is_refused_and_changes_nothing(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    new_tournament(database, trio)
    play(database, 1, scripted_rounds(5))
    with pytest.raises(MatchAlreadyRecordedError, match="already recorded"):
        play(database, 1, scripted_rounds(2, start_move=1), logs=[("a", 0, "again")])
    assert _rounds(database, 1) == 5
    assert _logs(database, 1) == 0
    with pytest.raises(UnknownMatchError, match="no match with id 99"):
        play(database, 99, scripted_rounds(1))


def test_a_failed_recording_leaves_the_match_pending_and_empty(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    new_tournament(database, trio)
    # Round 0 twice: two blocks start at round 0, and the second insert fails.
    duplicated = [*scripted_rounds(3), scripted_rounds(1)[0]]
    with pytest.raises(exc.IntegrityError, match=r"(?i)unique|duplicate"):  # the driver's, as SQLAlchemy's
        play(database, 1, duplicated)
    assert _rounds(database, 1) == 0
    with database.sessions() as session:
        assert session.get_one(Match, 1).status == "pending"
    play(database, 1, scripted_rounds(3))
    assert _rounds(database, 1) == 3


def test_writing_a_prepared_match_needs_a_transaction_that_has_begun(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    """The rows go to the driver's cursor: outside a transaction SQLAlchemy knows of, nothing would
    commit them (and a pooled connection's reset would roll them back), so it is refused up front."""
    new_tournament(database, trio)
    rounds = scripted_rounds(3)
    with database.engine.connect() as connection:
        prepared = prepare_match(
            connection, 1, score=score_of(rounds), rounds=rounds, first_forfeits=NO_FORFEITS
        )
        with pytest.raises(RuntimeError, match="transaction"):
            write_match(connection, prepared)
        with connection.begin():
            write_match(connection, prepared)
    assert _rounds(database, 1) == 3


def test_a_failed_match_made_pending_again_records_cleanly(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    tournament_id = new_tournament(database, trio)
    with database.sessions.begin() as session:
        assert fail_match(session, 1, "worker process died twice")
    assert _rounds(database, 1) == 0
    with database.sessions.begin() as session:
        assert reset_failed_matches(session, tournament_id) == 1
    play(database, 1, scripted_rounds(4), logs=[("b", 1, "fresh")])
    with database.sessions() as session:
        exported = [row for row in iter_export_rows(session, tournament_id) if row.match_id == 1]
        assert [(row.round, row.move_a) for row in exported] == [(0, 0), (1, 1), (2, 2), (3, 0)]
        assert match_logs(session, 1) == [("b", 1, "fresh")]


def test_rows_a_pending_match_cannot_have_fail_its_recording_instead_of_counting(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    # Rounds are only written with the flip to 'finished', so a pending match has none; a block forced in
    # behind the engine's back makes the recording fail whole rather than be mixed into the match.
    new_tournament(database, trio)
    (block,) = round_blocks.encode([(0, 2, 2, 0, 0, False, False, None, None, 0, 0)])
    with database.sessions.begin() as session:
        session.add(RoundBlock(match_id=1, first_round=0, rounds=1, width=block.width, data=block.data))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        play(database, 1, scripted_rounds(4))
    assert _rounds(database, 1) == 1
    with database.sessions() as session:
        assert session.get_one(Match, 1).status == "pending"


def test_meeting_history_sees_both_seat_orders_from_the_asker_side(database: Database) -> None:
    alpha, beta, gamma = (add_strategy(database, name) for name in ("alpha", "beta", "gamma"))
    first = new_tournament(
        database,
        [alpha, beta, gamma],
        plans=[
            MatchPlan(0, 0, alpha.version_id, beta.version_id, 1),
            MatchPlan(1, 0, beta.version_id, alpha.version_id, 2),
            MatchPlan(2, 0, alpha.version_id, gamma.version_id, 3),
        ],
    )
    play(database, 1, scripted_rounds(3, start_move=0))  # alpha (A) plays 0, 1, 2
    play(database, 2, scripted_rounds(3, start_move=1))  # beta (A) plays 1, 2, 0
    play(database, 3, scripted_rounds(3))
    with database.sessions() as session:
        history = meeting_history(session, strategy_a="alpha", strategy_b="beta", game="rps", limit=100)
        assert [(r.move_a, r.move_b) for r in history] == [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2), (0, 0)]
        assert [r.index for r in history] == [0, 1, 2, 0, 1, 2]
        assert history[3].fuel_a == 7
        assert history[3].fuel_b == 100
        mirrored = meeting_history(session, strategy_a="beta", strategy_b="alpha", game="rps", limit=100)
        assert mirrored == [r.swapped() for r in history]
        last_four = meeting_history(session, strategy_a="alpha", strategy_b="beta", game="rps", limit=4)
        assert last_four == history[-4:]
        assert (
            meeting_history(session, strategy_a="alpha", strategy_b="beta", game="rps", limit=2)
            == history[-2:]
        )
        before = meeting_history(
            session, strategy_a="alpha", strategy_b="beta", game="rps", before_match_id=2, limit=10
        )
        assert before == history[:3]
        assert meeting_history(session, strategy_a="alpha", strategy_b="beta", game="ipd", limit=10) == []
        assert meeting_history(session, strategy_a="alpha", strategy_b="nobody", game="rps", limit=10) == []
        assert meeting_history(session, strategy_a="alpha", strategy_b="beta", game="rps", limit=0) == []
        assert (
            meeting_history(
                session,
                strategy_a="alpha",
                strategy_b="beta",
                game="rps",
                within_tournament=first + 1,
                limit=10,
            )
            == []
        )
        assert (
            meeting_history(
                session, strategy_a="alpha", strategy_b="beta", game="rps", before_tournament=first, limit=10
            )
            == []
        )
    # A newer version of alpha still shares alpha's history; pending matches do not count.
    alpha2 = add_strategy(database, "alpha", version="2.0.0")
    second = new_tournament(
        database, [alpha2, beta], plans=[MatchPlan(0, 0, alpha2.version_id, beta.version_id, 9)]
    )
    with database.sessions() as session:
        assert (
            meeting_history(session, strategy_a="alpha", strategy_b="beta", game="rps", limit=100) == history
        )
    play(database, 4, scripted_rounds(2, start_move=2))
    with database.sessions() as session:
        latest = meeting_history(session, strategy_a="alpha", strategy_b="beta", game="rps", limit=3)
        assert [(r.move_a, r.move_b) for r in latest] == [(0, 0), (2, 0), (0, 0)]
        within = meeting_history(
            session, strategy_a="beta", strategy_b="alpha", game="rps", within_tournament=second, limit=10
        )
        assert [(r.move_a, r.move_b) for r in within] == [(0, 2), (0, 0)]


def test_meeting_history_reads_the_newest_rounds_across_blocks_and_matches(database: Database) -> None:
    """The last rounds of long meetings: pieces of blocks (the oldest match only partly), still in order."""
    alpha, beta = add_strategy(database, "alpha"), add_strategy(database, "beta")
    plans = [
        MatchPlan(0, 0, alpha.version_id, beta.version_id, 1),
        MatchPlan(1, 1, beta.version_id, alpha.version_id, 2),
    ]
    new_tournament(database, [alpha, beta], plans=plans)
    play(database, 1, scripted_rounds(1500))
    play(database, 2, scripted_rounds(1100, start_move=1))
    everything = [*scripted_rounds(1500), *(r.swapped() for r in scripted_rounds(1100, start_move=1))]
    with database.sessions() as session:
        for limit in (1, 76, 1000, 1100, 1101, 2000, 2600, 5000):
            history = meeting_history(session, strategy_a="alpha", strategy_b="beta", game="rps", limit=limit)
            assert history == everything[-limit:], limit


def test_export_rows_follow_match_position_then_round(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    plans = [
        MatchPlan(2, 0, trio[0].version_id, trio[1].version_id, 1),
        MatchPlan(0, 0, trio[1].version_id, trio[2].version_id, 2),
        MatchPlan(1, 1, trio[2].version_id, trio[0].version_id, 3),
    ]
    tournament_id = new_tournament(database, trio, plans=plans)
    # Record in an order unrelated to positions; the export must not care.
    play(database, 3, scripted_rounds(2))
    play(database, 1, scripted_rounds(3))
    play(database, 2, scripted_rounds(1))
    with database.sessions() as session:
        rows = list(iter_export_rows(session, tournament_id))
    assert [(row.match_id, row.round) for row in rows] == [(2, 0), (3, 0), (3, 1), (1, 0), (1, 1), (1, 2)]
    assert [(row.player_a, row.player_b, row.repetition) for row in rows[:2]] == [
        ("beta", "gamma", 0),
        ("gamma", "alpha", 1),
    ]
    assert rows[-1].fuel_a == 102
    assert rows[-1].noise_a is False


def test_export_streams_many_rounds(database: Database, trio: list[StrategyVersionInfo]) -> None:
    tournament_id = new_tournament(database, trio)
    for match_id in (1, 2, 3):
        play(database, match_id, scripted_rounds(1500))
    with database.sessions() as session:
        count = 0
        previous = (-1, -1)
        positions = {m.match_id: m.position for m in list_matches(session, tournament_id)}
        for row in iter_export_rows(session, tournament_id):
            key = (positions[row.match_id], row.round)
            assert key > previous
            previous = key
            count += 1
    assert count == 4500


def test_concurrent_recordings_of_one_match_count_once(
    database: Database, trio: list[StrategyVersionInfo]
) -> None:
    new_tournament(database, trio)
    rounds = scripted_rounds(4)
    outcome: list[BaseException | None] = []
    with database.sessions() as first:
        record_match(first, 1, score=score_of(rounds), rounds=rounds, first_forfeits=NO_FORFEITS)

        def second_writer() -> None:
            try:
                play(database, 1, scripted_rounds(2, start_move=1))
                outcome.append(None)
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waits for the first writer's lock instead of interleaving
        first.commit()
    thread.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], MatchAlreadyRecordedError)
    assert _rounds(database, 1) == 4
