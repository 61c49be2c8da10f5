"""Tournaments, their planned matches, recorded rounds and the queries that read them back.

Functions take a Session and flush but never commit: wrap calls in ``with database.sessions.begin() as
session:``. Bulk writes of a new tournament (entries, matches) use Core ``insert()`` with executemany;
recording a played match (its rounds, packed in blocks: `round_blocks`, and its logs) uses plain SQL built
once per dialect (`record_match`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeAlias, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Dialect,
    Table,
    and_,
    exc,
    false,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from tournament.persistence import round_blocks
from tournament.persistence.errors import (
    MatchAlreadyRecordedError,
    UnknownMatchError,
    UnknownTournamentError,
)
from tournament.persistence.models import (
    PLAYERS,
    TOURNAMENT_STATUSES,
    Match,
    MatchLog,
    RoundBlock,
    Strategy,
    StrategyVersion,
    Tournament,
    TournamentEntry,
    utcnow,
)
from tournament.persistence.strategies import StrategyVersionInfo, version_info
from tournament.picklable import by_fields
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.records import RoundLog, RoundRecord
from tournament.rules.scoring import MatchOutcome, MatchScore

MAX_SEED = 2**63
"""Seeds are stored as signed 64-bit integers: 0 <= seed < 2**63."""
EXPORT_BATCH = 16
"""Round blocks fetched per round trip when streaming an export: up to 16,384 rounds, under 1 MiB."""

_BLOCKS = cast(Table, RoundBlock.__table__)
_MATCHES = cast(Table, Match.__table__)
_LOGS = cast(Table, MatchLog.__table__)
_ENTRIES = cast(Table, TournamentEntry.__table__)
_TERMINAL = ("finished", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class MatchPlan:
    """One match to play, planned before the tournament starts (its seed derives from the pairing)."""

    position: int
    """Order within the tournament, from 0; unique per tournament."""
    repetition: int
    version_a_id: int
    version_b_id: int
    seed: int


@dataclass(frozen=True, slots=True)
class TournamentInfo:
    """A stored tournament with its participants in seat order."""

    id: int
    game: str
    rounds: int
    repetitions: int
    seed: int
    noise: float
    config: dict[str, Any]
    engine_version: str
    status: str
    """'pending' | 'running' | 'finished' | 'failed' | 'cancelled'."""
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    participants: tuple[StrategyVersionInfo, ...]


@by_fields
@dataclass(frozen=True, slots=True)
class MatchInfo:
    """A planned or played match, with its players' strategy names."""

    match_id: int
    tournament_id: int
    position: int
    repetition: int
    version_a_id: int
    version_b_id: int
    strategy_a: str
    strategy_b: str
    seed: int
    status: str
    """'pending' | 'finished' | 'failed' (its worker died on every attempt; a resumed run plays it again)."""


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One round of a tournament, flattened for CSV/JSON export."""

    match_id: int
    repetition: int
    round: int
    player_a: str
    player_b: str
    move_a: int | None
    move_b: int | None
    payoff_a: int
    payoff_b: int
    noise_a: bool
    noise_b: bool
    forfeit_a: str | None
    forfeit_b: str | None
    fuel_a: int
    fuel_b: int


def _check_seed(seed: int, what: str) -> None:
    if not 0 <= seed < MAX_SEED:
        raise ValueError(f"{what} seed {seed} is out of range (0 <= seed < 2**63)")


def create_tournament(
    session: Session,
    *,
    game: str,
    rounds: int,
    repetitions: int,
    seed: int,
    noise: float,
    config: dict[str, Any],
    engine_version: str,
    participants: Sequence[StrategyVersionInfo],
    matches: Sequence[MatchPlan],
    schedule_id: int | None = None,
    scheduled_for: datetime | None = None,
) -> int:
    """Store a pending tournament, its participants (exact versions, in seat order) and all its matches.

    Everything lands in the caller's transaction, so a tournament is never half created. Returns its id.
    A scheduled run names its schedule and slot; a second tournament for the same slot violates a unique
    constraint (IntegrityError), so no slot ever runs twice.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if repetitions < 1:
        raise ValueError(f"repetitions must be at least 1, got {repetitions}")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be a probability between 0 and 1, got {noise}")
    _check_seed(seed, "tournament")
    version_ids = [participant.version_id for participant in participants]
    if len(set(version_ids)) != len(version_ids):
        raise ValueError("a strategy version is listed twice among the participants")
    allowed = set(version_ids)
    positions = [plan.position for plan in matches]
    if len(set(positions)) != len(positions):
        raise ValueError("two matches share a position")
    for plan in matches:
        if plan.version_a_id not in allowed or plan.version_b_id not in allowed:
            raise ValueError(f"match at position {plan.position} plays a version that is not a participant")
        _check_seed(plan.seed, f"match {plan.position}")

    tournament = Tournament(
        game=game,
        rounds=rounds,
        repetitions=repetitions,
        seed=seed,
        noise=noise,
        config=dict(config),
        engine_version=engine_version,
        status="pending",
        schedule_id=schedule_id,
        scheduled_for=scheduled_for,
    )
    session.add(tournament)
    session.flush()
    tournament_id = tournament.id
    connection = session.connection()
    if participants:
        connection.execute(
            insert(_ENTRIES),
            [
                {"tournament_id": tournament_id, "strategy_version_id": version_id, "seat": seat}
                for seat, version_id in enumerate(version_ids)
            ],
        )
    if matches:
        connection.execute(
            insert(_MATCHES),
            [
                {
                    "tournament_id": tournament_id,
                    "position": plan.position,
                    "repetition": plan.repetition,
                    "version_a_id": plan.version_a_id,
                    "version_b_id": plan.version_b_id,
                    "seed": plan.seed,
                    "status": "pending",
                }
                for plan in matches
            ],
        )
    return tournament_id


def _participants(session: Session, tournament_ids: Sequence[int]) -> dict[int, list[StrategyVersionInfo]]:
    query = (
        select(TournamentEntry.tournament_id, StrategyVersion, Strategy)
        .join(StrategyVersion, TournamentEntry.strategy_version_id == StrategyVersion.id)
        .join(Strategy, StrategyVersion.strategy_id == Strategy.id)
        .where(TournamentEntry.tournament_id.in_(tournament_ids))
        .order_by(TournamentEntry.tournament_id, TournamentEntry.seat)
    )
    result: dict[int, list[StrategyVersionInfo]] = {}
    for tournament_id, version, strategy in session.execute(query):
        result.setdefault(tournament_id, []).append(version_info(version, strategy))
    return result


def _tournament_info(row: Tournament, participants: Sequence[StrategyVersionInfo]) -> TournamentInfo:
    return TournamentInfo(
        id=row.id,
        game=row.game,
        rounds=row.rounds,
        repetitions=row.repetitions,
        seed=row.seed,
        noise=row.noise,
        config=dict(row.config),
        engine_version=row.engine_version,
        status=row.status,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        participants=tuple(participants),
    )


Handle: TypeAlias = Session | Connection
"""What the run-lease functions accept: a Session, or a Core connection for callers that need no ORM (the
few reads and compare-and-sets that start and end a run cost less without a Session around them)."""


def _connection(handle: Handle) -> Connection:
    return handle if isinstance(handle, Connection) else handle.connection()


@dataclass(frozen=True, slots=True)
class _Executed:
    """What a plain statement returned: its rows (none for a write), their description, rows changed."""

    rows: list[tuple[Any, ...]]
    description: Sequence[Sequence[Any]]
    rowcount: int


def _plain(session: Handle, sql: str, params: Sequence[Any] = ()) -> _Executed:
    """Run plain SQL written with ``?`` markers on the driver's cursor of the handle's connection, in its
    transaction (psycopg gets ``%s``); driver errors are raised as SQLAlchemy's, as `exec_driver_sql`
    raises them.

    Why not Core: a fresh engine (every CLI command, every run of a benchmark) compiles each Core or ORM
    statement on its first use, and even `exec_driver_sql`'s bookkeeping (an execution context, a
    result's metadata) costs more than SQLite takes to answer the short reads and compare-and-sets that
    start and end every run. Values go through their columns' type processors (`_bind`, `_typed`), so
    they are stored and read back exactly as Core would.
    """
    connection = _connection(session)
    if not connection.in_transaction():
        connection.begin()  # what `exec_driver_sql` does first: the caller's commit covers this statement
    dialect = connection.dialect
    if dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    driver_error = dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        if cursor.description is None:
            return _Executed([], (), cursor.rowcount)
        return _Executed(cast(list[tuple[Any, ...]], cursor.fetchall()), cursor.description, cursor.rowcount)
    except driver_error as error:
        raise exc.DBAPIError.instance(sql, tuple(params), error, driver_error, dialect=dialect) from error
    finally:
        cursor.close()


def _rows(session: Handle, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return _plain(session, sql, params).rows


def _dialect(session: Handle) -> Dialect:
    return session.dialect if isinstance(session, Connection) else session.get_bind().dialect


def _bind(session: Handle, column: Column[Any], value: Any) -> Any:
    """`value` as Core would bind it for `column` (e.g. a UTC timestamp as SQLite's naive text)."""
    if value is None:
        return None
    dialect = _dialect(session)
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


def _typed(
    session: Handle, columns: Sequence[Column[Any]], sql: str, params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """The rows of a plain SELECT of `columns`, each value converted by its column's result processor
    (given the driver's type code, as Core does), so they read exactly as from a Core statement."""
    result = _plain(session, sql, params)
    if not result.rows:
        return []
    dialect = _dialect(session)
    processors = [
        (index, process)
        for index, (column, entry) in enumerate(zip(columns, result.description, strict=True))
        if (process := column.type.dialect_impl(dialect).result_processor(dialect, entry[1])) is not None
    ]
    if not processors:
        return result.rows
    rows = []
    for row in result.rows:
        values = list(row)
        for index, process in processors:
            values[index] = process(values[index])
        rows.append(tuple(values))
    return rows


_TOURNAMENTS = cast(Table, Tournament.__table__)
_VERSIONS = cast(Table, StrategyVersion.__table__)
_STRATEGIES = cast(Table, Strategy.__table__)
_INFO_NAMES = (
    "id", "game", "rounds", "repetitions", "seed", "noise", "config", "engine_version", "status",
    "created_at", "started_at", "finished_at", "error",
)  # fmt: skip
_LEASE_NAMES = ("id", "status", "runner", "heartbeat_at", "cancel_requested", "started_at", "created_at")
_STATE_NAMES = (*_INFO_NAMES, "runner", "heartbeat_at", "cancel_requested")
_STATE_COLUMNS = tuple(_TOURNAMENTS.c[name] for name in _STATE_NAMES)
_LEASE_COLUMNS = tuple(_TOURNAMENTS.c[name] for name in _LEASE_NAMES)
_PARTICIPANT_COLUMNS = (
    _VERSIONS.c.id, _VERSIONS.c.strategy_id, _STRATEGIES.c.name, _VERSIONS.c.version,
    _VERSIONS.c.content_hash, _VERSIONS.c.language, _STRATEGIES.c.games, _VERSIONS.c.size,
    _VERSIONS.c.deterministic, _STRATEGIES.c.builtin, _VERSIONS.c.status, _VERSIONS.c.wit_version,
    _STRATEGIES.c.description, _STRATEGIES.c.author,
)  # fmt: skip
_PARTICIPANTS_SQL = (
    "SELECT "
    + ", ".join(
        f"{'v' if column.table is _VERSIONS else 's'}.{column.name}" for column in _PARTICIPANT_COLUMNS
    )
    + " FROM tournament_entries e JOIN strategy_versions v ON v.id = e.strategy_version_id"
    " JOIN strategies s ON s.id = v.strategy_id WHERE e.tournament_id = ? ORDER BY e.seat"
)


def run_state(session: Handle, tournament_id: int) -> tuple[TournamentInfo, LeaseState]:
    """The tournament and its lease in one read (two plain queries): what starting a run needs.

    UnknownTournamentError ("no tournament with id 7") if there is none.
    """
    sql = f"SELECT {', '.join(_STATE_NAMES)} FROM tournaments WHERE id = ?"
    found = _typed(session, _STATE_COLUMNS, sql, (tournament_id,))
    if not found:
        raise UnknownTournamentError(f"no tournament with id {tournament_id}")
    values = dict(zip(_STATE_NAMES, found[0], strict=True))
    participants = tuple(
        StrategyVersionInfo(
            version_id=row[0],
            strategy_id=row[1],
            name=row[2],
            version=row[3],
            content_hash=row[4],
            language=row[5],
            games=tuple(row[6]),
            size=row[7],
            deterministic=row[8],
            builtin=row[9],
            status=row[10],
            wit_version=row[11],
            description=row[12],
            author=row[13],
        )
        for row in _typed(session, _PARTICIPANT_COLUMNS, _PARTICIPANTS_SQL, (tournament_id,))
    )
    info = TournamentInfo(**{name: values[name] for name in _INFO_NAMES}, participants=participants)
    return replace(info, config=dict(info.config)), LeaseState(*(values[name] for name in _LEASE_NAMES))


def get_tournament(session: Session, tournament_id: int) -> TournamentInfo:
    """The tournament with this id; UnknownTournamentError ("no tournament with id 7") if there is none."""
    return run_state(session, tournament_id)[0]


def list_tournaments(
    session: Session, *, game: str | None = None, status: str | None = None, limit: int | None = None
) -> list[TournamentInfo]:
    """Stored tournaments, newest first, optionally filtered by game and status."""
    query = select(Tournament).order_by(Tournament.id.desc())
    if game is not None:
        query = query.where(Tournament.game == game)
    if status is not None:
        query = query.where(Tournament.status == status)
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    participants = _participants(session, [row.id for row in rows]) if rows else {}
    return [_tournament_info(row, participants.get(row.id, [])) for row in rows]


def set_status(session: Session, tournament_id: int, status: str, *, error: str | None = None) -> None:
    """Move a tournament to ``status``, keeping its timestamps meaningful.

    'running' stamps ``started_at`` on the first start only (a resumed run keeps it) and clears
    ``finished_at``; 'finished', 'failed' and 'cancelled' stamp ``finished_at``. ``error`` replaces the
    stored error (None clears it).
    """
    if status not in TOURNAMENT_STATUSES:
        raise ValueError(f"invalid tournament status {status!r}: one of {', '.join(TOURNAMENT_STATUSES)}")
    row = session.get(Tournament, tournament_id)
    if row is None:
        raise UnknownTournamentError(f"no tournament with id {tournament_id}")
    now = utcnow()
    row.status = status
    row.error = error
    if status == "running":
        if row.started_at is None:
            row.started_at = now
        row.finished_at = None
    elif status in _TERMINAL:
        row.finished_at = now
    else:
        row.finished_at = None
    session.flush()


def names_query() -> tuple[type[StrategyVersion], type[StrategyVersion], type[Strategy], type[Strategy]]:
    """Aliases to join a match's two versions to their two strategies (for the players' names)."""
    return aliased(StrategyVersion), aliased(StrategyVersion), aliased(Strategy), aliased(Strategy)


def list_matches(session: Session, tournament_id: int, *, pending_only: bool = False) -> list[MatchInfo]:
    """The tournament's matches ordered by position (only the unplayed ones with ``pending_only``)."""
    version_a, version_b, strategy_a, strategy_b = names_query()
    query = (
        select(
            Match.id,
            Match.position,
            Match.repetition,
            Match.version_a_id,
            Match.version_b_id,
            strategy_a.name,
            strategy_b.name,
            Match.seed,
            Match.status,
        )
        .join(version_a, Match.version_a_id == version_a.id)
        .join(strategy_a, version_a.strategy_id == strategy_a.id)
        .join(version_b, Match.version_b_id == version_b.id)
        .join(strategy_b, version_b.strategy_id == strategy_b.id)
        .where(Match.tournament_id == tournament_id)
        .order_by(Match.position)
    )
    if pending_only:
        query = query.where(Match.status == "pending")
    return [
        MatchInfo(
            match_id=row[0],
            tournament_id=tournament_id,
            position=row[1],
            repetition=row[2],
            version_a_id=row[3],
            version_b_id=row[4],
            strategy_a=row[5],
            strategy_b=row[6],
            seed=row[7],
            status=row[8],
        )
        for row in session.execute(query)
    ]


def pending_matches(session: Handle, info: TournamentInfo) -> list[MatchInfo]:
    """The tournament's unplayed matches by position, named from `info`'s participants.

    What a run plays: one plain indexed read of `matches` (no joins to the strategy tables: the names
    come from `info`).
    """
    rows = _rows(
        session,
        "SELECT id, position, repetition, version_a_id, version_b_id, seed FROM matches"
        " WHERE tournament_id = ? AND status = 'pending' ORDER BY position",
        (info.id,),
    )
    return _pending_infos(info, rows)


def matches_to_play(session: Handle, info: TournamentInfo) -> list[MatchInfo]:
    """`pending_matches` after `reset_failed_matches`, in one read when no match failed (the usual case):
    what a run that has just claimed its lease plays."""
    rows = _rows(
        session,
        "SELECT id, position, repetition, version_a_id, version_b_id, seed, status FROM matches"
        " WHERE tournament_id = ? AND status IN ('pending', 'failed') ORDER BY position",
        (info.id,),
    )
    if any(row[6] == "failed" for row in rows):
        reset_failed_matches(session, info.id)
    return _pending_infos(info, [row[:6] for row in rows])


def _pending_infos(info: TournamentInfo, rows: Sequence[tuple[Any, ...]]) -> list[MatchInfo]:
    names = {participant.version_id: participant.name for participant in info.participants}
    return [
        MatchInfo(
            match_id=match_id,
            tournament_id=info.id,
            position=position,
            repetition=repetition,
            version_a_id=version_a_id,
            version_b_id=version_b_id,
            strategy_a=names[version_a_id],
            strategy_b=names[version_b_id],
            seed=seed,
            status="pending",
        )
        for match_id, position, repetition, version_a_id, version_b_id, seed in rows
    ]


def match_counts(session: Handle, tournament_id: int) -> tuple[int, int]:
    """(finished, total) matches of a tournament, for progress displays."""
    sql = "SELECT count(CASE WHEN status = 'finished' THEN 1 END), count(*) FROM matches"
    sql += " WHERE tournament_id = ?"
    ((finished, total),) = _rows(session, sql, (tournament_id,))
    return int(finished), int(total)


def _reason(value: str | None) -> str | None:
    """Store a forfeit reason by its value, refusing anything that is not a ForfeitReason."""
    return None if value is None else ForfeitReason(value).value


def record_match(
    session: Session,
    match_id: int,
    *,
    score: MatchScore,
    rounds: Sequence[RoundRecord],
    first_forfeits: tuple[tuple[str | None, str | None], tuple[str | None, str | None]],
    logs: Sequence[tuple[str, int, str]] = (),
) -> None:
    """Store a played match: its rounds, its strategies' log lines and its score, in the caller's transaction.

    The match row is flipped from 'pending' to 'finished' by the first statement, so a concurrent or
    repeated recording of the same match waits for the row lock and then fails with
    MatchAlreadyRecordedError: nothing is counted twice. Rounds and logs are written only here, in that
    same transaction, so a pending match never has any (a crash rolls them back with the flip; a failed
    match never had any): nothing needs cleaning first, and a stray row would fail the insert rather than
    be counted. ``first_forfeits`` is ((reason_a, detail_a), (reason_b, detail_b)); ``logs`` is
    (player 'a' | 'b', round, message).
    """
    connection = session.connection()
    write_match(
        connection,
        prepare_match(
            connection, match_id, score=score, rounds=rounds, first_forfeits=first_forfeits, logs=logs
        ),
    )


@dataclass(frozen=True, slots=True)
class PreparedMatch:
    """A played match as the statements that record it, built and bound ahead (`prepare_match`), so
    that a writer holding a lock other writers wait for (a worker process's turn at a SQLite file) spends
    it on the database's work only."""

    match_id: int
    finish: tuple[str, tuple[Any, ...]]
    """The UPDATE that flips the match from 'pending' to 'finished', and its parameters."""
    status: str
    inserts: tuple[tuple[str, Any], ...]
    """(statement, parameters) of the rounds and logs; a list of parameter tuples is an executemany."""


def prepare_match(
    connection: Connection,
    match_id: int,
    *,
    score: MatchScore,
    rounds: Sequence[RoundRecord],
    first_forfeits: tuple[tuple[str | None, str | None], tuple[str | None, str | None]],
    logs: Sequence[tuple[str, int, str]] = (),
) -> PreparedMatch:
    """The statements `record_match` runs, checked and bound; nothing is executed (see `write_match`)."""
    if len(rounds) != score.rounds:
        raise ValueError(f"score covers {score.rounds} rounds but {len(rounds)} round records were given")
    (reason_a, detail_a), (reason_b, detail_b) = first_forfeits
    for player, _, _ in logs:
        if player not in PLAYERS:
            raise ValueError(f"log player must be 'a' or 'b', got {player!r}")
    writer = _writer(connection)
    finished = [
        MatchOutcome(score.outcome).value, score.rounds, score.total_a, score.total_b, score.wins_a,
        score.wins_b, score.draws, score.forfeits_a, score.forfeits_b, _reason(reason_a), _reason(reason_b),
        detail_a, detail_b, utcnow(),
    ]  # fmt: skip
    for index, process in writer.processors:
        if finished[index] is not None:
            finished[index] = process(finished[index])
    rows = rounds if isinstance(rounds, RoundLog) else [record.as_row() for record in rounds]
    inserts: list[tuple[str, Any]] = []
    if rows:
        blocks = round_blocks.encode(rows)
        parameters = [(match_id, b.first_round, b.rounds, b.width, b.data) for b in blocks]
        inserts.append((writer.blocks, parameters if len(parameters) > 1 else parameters[0]))
    if logs:
        inserts.append((writer.logs, [(match_id, player, index, message) for player, index, message in logs]))
    return PreparedMatch(match_id, (writer.finish, (*finished, match_id)), writer.status, tuple(inserts))


def write_match(connection: Connection, prepared: PreparedMatch) -> None:
    """Run a prepared match's statements in the connection's transaction (see `record_match`), which
    must have begun (`Connection.begin`, `Engine.begin`, a session's).

    The statements go to the driver's cursor: SQLAlchemy's bookkeeping per statement (an execution
    context, a result) costs more than the database's own work for a match's few rows, spent inside the
    lock that worker processes take turns at. Driver errors are raised as SQLAlchemy's, as
    `exec_driver_sql` raises them.
    """
    if not connection.in_transaction():
        raise RuntimeError("write_match needs a connection whose transaction has begun")
    match_id = prepared.match_id
    driver_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    statement = prepared.finish[0]
    try:
        cursor.execute(*prepared.finish)
        if cursor.rowcount != 1:
            statement = prepared.status
            cursor.execute(statement, (match_id,))
            if cursor.fetchone() is None:
                raise UnknownMatchError(f"no match with id {match_id}")
            raise MatchAlreadyRecordedError(
                f"match {match_id} is already recorded; refusing to count it twice"
            )
        for statement, parameters in prepared.inserts:
            if isinstance(parameters, list):
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
    except driver_error as error:
        raise exc.DBAPIError.instance(
            statement, None, error, driver_error, hide_parameters=True, dialect=connection.dialect
        ) from error
    finally:
        cursor.close()


_FINISHED_COLUMNS = (
    "outcome", "rounds_played", "total_a", "total_b", "wins_a", "wins_b", "draws", "forfeits_a",
    "forfeits_b", "forfeit_reason_a", "forfeit_reason_b", "detail_a", "detail_b", "finished_at",
)  # fmt: skip
_BLOCK_COLUMNS = ("match_id", "first_round", "rounds", "width", "data")
_LOG_COLUMNS = ("match_id", "player", "round", "message")


@dataclass(frozen=True, slots=True)
class _Writer:
    """One dialect's plain SQL for recording a match, and the bind processors it needs: built once."""

    finish: str
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(index in `_FINISHED_COLUMNS`, processor) of the columns whose values the driver cannot take as
    they are (e.g. SQLite's naive text timestamps)."""
    status: str
    blocks: str
    logs: str


_WRITERS: weakref.WeakKeyDictionary[Dialect, _Writer] = weakref.WeakKeyDictionary()
"""Weak keys: a disposed engine's dialect (tests and CLI commands make many) is not kept alive here."""


def _writer(connection: Connection) -> _Writer:
    dialect = connection.dialect
    writer = _WRITERS.get(dialect)
    if writer is None:
        writer = _WRITERS[dialect] = _build_writer(connection)
    return writer


def _build_writer(connection: Connection) -> _Writer:
    """The statements of `record_match` for this connection's dialect.

    Why plain SQL: building, caching and binding Core statements per match cost more than the database's
    own work, and so did rebuilding these texts and looking up bind processors per match. Values still
    pass through their columns' bind processors, so they are stored exactly as Core stores them (the
    blocks' ints and bytes need none on either driver).
    """
    dialect = connection.dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    preparer = dialect.identifier_preparer

    def insert_sql(table: Table, columns: Sequence[str]) -> str:
        names = ", ".join(preparer.quote(column) for column in columns)
        return (
            f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"
        )

    matches = preparer.format_table(_MATCHES)
    assignments = ", ".join(f"{preparer.quote(name)} = ?" for name in _FINISHED_COLUMNS)
    processors = tuple(
        (index, process)
        for index, name in enumerate(_FINISHED_COLUMNS)
        if (process := _MATCHES.c[name].type.bind_processor(dialect)) is not None
    )
    texts = (
        f"UPDATE {matches} SET status = 'finished', {assignments} WHERE id = ? AND status = 'pending'",
        f"SELECT status FROM {matches} WHERE id = ?",
        insert_sql(_BLOCKS, _BLOCK_COLUMNS),
        insert_sql(_LOGS, _LOG_COLUMNS),
    )
    finish, status, blocks, logs = (text.replace("?", marker) for text in texts)
    return _Writer(finish, processors, status, blocks, logs)


def match_summaries(session: Session, tournament_id: int) -> list[tuple[str, str, MatchScore]]:
    """(strategy a, strategy b, score) of every finished match of the tournament, by position."""
    version_a, version_b, strategy_a, strategy_b = names_query()
    query = (
        select(
            strategy_a.name,
            strategy_b.name,
            Match.rounds_played,
            Match.total_a,
            Match.total_b,
            Match.wins_a,
            Match.wins_b,
            Match.draws,
            Match.forfeits_a,
            Match.forfeits_b,
            Match.outcome,
        )
        .join(version_a, Match.version_a_id == version_a.id)
        .join(strategy_a, version_a.strategy_id == strategy_a.id)
        .join(version_b, Match.version_b_id == version_b.id)
        .join(strategy_b, version_b.strategy_id == strategy_b.id)
        .where(Match.tournament_id == tournament_id, Match.status == "finished")
        .order_by(Match.position)
    )
    return [
        (
            row[0],
            row[1],
            MatchScore(
                rounds=row[2] or 0,
                total_a=row[3] or 0,
                total_b=row[4] or 0,
                wins_a=row[5] or 0,
                wins_b=row[6] or 0,
                draws=row[7] or 0,
                forfeits_a=row[8] or 0,
                forfeits_b=row[9] or 0,
                outcome=MatchOutcome(row[10]),
            ),
        )
        for row in session.execute(query)
    ]


def _version_ids(session: Session, name: str) -> set[int]:
    return set(
        session.scalars(
            select(StrategyVersion.id)
            .join(Strategy, StrategyVersion.strategy_id == Strategy.id)
            .where(Strategy.name == name)
        )
    )


def meeting_history(
    session: Session,
    *,
    strategy_a: str,
    strategy_b: str,
    game: str,
    before_match_id: int | None = None,
    within_tournament: int | None = None,
    before_tournament: int | None = None,
    limit: int,
) -> list[RoundRecord]:
    """The last ``limit`` rounds (oldest first) that ``strategy_a`` and ``strategy_b`` played in ``game``.

    Both seat orders count; rounds are seen from ``strategy_a``'s side. Only finished matches count, in
    match-id order ("most recent" = highest id). ``within_tournament`` keeps one tournament,
    ``before_tournament`` only earlier tournaments and ``before_match_id`` only matches with smaller ids.
    For reproducible runs pass filters that select matches finished before the run started (e.g.
    ``before_tournament``): matches of the running tournament finish in an order that depends on workers.
    Two small indexed queries: the newest qualifying matches, then (by primary key) only the blocks that
    hold their last ``limit`` rounds: a finished match's rounds are numbered 0..rounds_played - 1, so the
    oldest match needed is read from the block holding its first wanted round on, not whole.
    """
    if limit <= 0:
        return []
    ids_a = _version_ids(session, strategy_a)
    ids_b = ids_a if strategy_b == strategy_a else _version_ids(session, strategy_b)
    if not ids_a or not ids_b:
        return []
    pair = or_(
        and_(Match.version_a_id.in_(ids_a), Match.version_b_id.in_(ids_b)),
        and_(Match.version_a_id.in_(ids_b), Match.version_b_id.in_(ids_a)),
    )
    query = (
        select(Match.id, Match.version_a_id, Match.rounds_played)
        .join(Tournament, Match.tournament_id == Tournament.id)
        .where(pair, Match.status == "finished", Match.rounds_played > 0, Tournament.game == game)
        .order_by(Match.id.desc())
        .limit(limit)
    )
    if before_match_id is not None:
        query = query.where(Match.id < before_match_id)
    if within_tournament is not None:
        query = query.where(Match.tournament_id == within_tournament)
    if before_tournament is not None:
        query = query.where(Match.tournament_id < before_tournament)
    swapped: dict[int, bool] = {}
    whole: list[int] = []
    tail: ColumnElement[bool] = false()
    remaining = limit
    for match_id, version_a_id, rounds_played in session.execute(query):
        swapped[match_id] = strategy_a != strategy_b and version_a_id not in ids_a
        played = rounds_played or 0
        if played >= remaining:
            needed = RoundBlock.first_round + RoundBlock.rounds > played - remaining
            tail = and_(RoundBlock.match_id == match_id, needed)
            break
        whole.append(match_id)
        remaining -= played
    if not swapped:
        return []
    blocks = session.execute(
        select(
            RoundBlock.match_id, RoundBlock.first_round, RoundBlock.rounds, RoundBlock.width, RoundBlock.data
        )
        .where(or_(RoundBlock.match_id.in_(whole), tail))
        .order_by(RoundBlock.match_id.desc(), RoundBlock.first_round.desc())
    )
    newest_first: list[list[RoundRecord]] = []
    remaining = limit
    for match_id, first_round, rounds, width, data in blocks:
        rows = round_blocks.decode(round_blocks.Block(first_round, rounds, width, data))[-remaining:]
        records = [RoundRecord(*row) for row in rows]
        newest_first.append([record.swapped() for record in records] if swapped[match_id] else records)
        remaining -= len(rows)
        if remaining <= 0:
            break
    return [record for records in reversed(newest_first) for record in records]


def iter_export_rows(session: Session, tournament_id: int) -> Iterator[ExportRow]:
    """Every round of the tournament ordered by match position then round, streamed in batches.

    Blocks come from a server-side cursor on PostgreSQL (``yield_per``) and are decoded one at a time, so
    memory stays flat however large the tournament; keep the session open while iterating.
    """
    if session.get(Tournament, tournament_id) is None:
        raise UnknownTournamentError(f"no tournament with id {tournament_id}")
    version_a, version_b, strategy_a, strategy_b = names_query()
    query = (
        select(
            Match.id,
            Match.repetition,
            strategy_a.name,
            strategy_b.name,
            RoundBlock.first_round,
            RoundBlock.rounds,
            RoundBlock.width,
            RoundBlock.data,
        )
        .join(RoundBlock, RoundBlock.match_id == Match.id)
        .join(version_a, Match.version_a_id == version_a.id)
        .join(strategy_a, version_a.strategy_id == strategy_a.id)
        .join(version_b, Match.version_b_id == version_b.id)
        .join(strategy_b, version_b.strategy_id == strategy_b.id)
        .where(Match.tournament_id == tournament_id)
        .order_by(Match.position, RoundBlock.first_round)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    for match_id, repetition, player_a, player_b, first_round, rounds, width, data in session.execute(query):
        for row in round_blocks.decode(round_blocks.Block(first_round, rounds, width, data)):
            yield ExportRow(match_id, repetition, row[0], player_a, player_b, *row[1:])


def match_logs(session: Session, match_id: int) -> list[tuple[str, int, str]]:
    """The log lines of one match as (player, round, message), in the order they were written."""
    rows = session.execute(
        select(MatchLog.player, MatchLog.round, MatchLog.message)
        .where(MatchLog.match_id == match_id)
        .order_by(MatchLog.id)
    )
    return [(player, index, message) for player, index, message in rows]


# --- Run leases, cancellation and failed matches -------------------------------------------------------
# A run holds its tournament through `runner` and `heartbeat_at`; every change of hands is a
# compare-and-set on the values the caller read, so two processes can never both believe they hold it.

RUNNABLE = ("pending", "running", "failed")
"""Statuses a run may (re)start from; 'finished' and 'cancelled' are final."""


@dataclass(frozen=True, slots=True)
class LeaseState:
    """Who runs a tournament, as read: the values a compare-and-set must still find."""

    tournament_id: int
    status: str
    runner: str | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    started_at: datetime | None
    created_at: datetime


def _lease_columns() -> tuple[InstrumentedAttribute[Any], ...]:
    return (
        Tournament.id, Tournament.status, Tournament.runner, Tournament.heartbeat_at,
        Tournament.cancel_requested, Tournament.started_at, Tournament.created_at,
    )  # fmt: skip


def lease_state(session: Handle, tournament_id: int) -> LeaseState:
    """The tournament's status and lease; UnknownTournamentError if there is none."""
    sql = f"SELECT {', '.join(_LEASE_NAMES)} FROM tournaments WHERE id = ?"
    found = _typed(session, _LEASE_COLUMNS, sql, (tournament_id,))
    if not found:
        raise UnknownTournamentError(f"no tournament with id {tournament_id}")
    return LeaseState(*found[0])


def lease_states(session: Session, statuses: Sequence[str]) -> list[LeaseState]:
    """Status and lease of every tournament in one of `statuses`, oldest first."""
    query = select(*_lease_columns()).where(Tournament.status.in_(statuses)).order_by(Tournament.id)
    return [LeaseState(*row) for row in session.execute(query)]


def _unchanged(seen: LeaseState) -> Any:
    return and_(
        Tournament.id == seen.tournament_id,
        Tournament.status == seen.status,
        Tournament.runner.is_not_distinct_from(seen.runner),
        Tournament.heartbeat_at.is_not_distinct_from(seen.heartbeat_at),
    )


def claim_lease(session: Handle, seen: LeaseState, *, runner: str, now: datetime) -> bool:
    """Take the run lease if the tournament is still exactly as `seen` (and runnable, not cancelled).

    Marks it 'running' (stamping `started_at` on the first start) and clears a previous run's error.
    False when someone else changed it in between: read again and decide again.
    """
    if seen.status not in RUNNABLE or seen.cancel_requested:
        return False
    stamp = _bind(session, _TOURNAMENTS.c.heartbeat_at, now)
    unchanged, params = _plain_unchanged(session, seen)
    result = _plain(
        session,
        "UPDATE tournaments SET runner = ?, heartbeat_at = ?, status = 'running',"
        f" started_at = COALESCE(started_at, ?), finished_at = NULL, error = NULL WHERE {unchanged}"
        " AND cancel_requested = ?",
        (runner, stamp, stamp, *params, _bind(session, _TOURNAMENTS.c.cancel_requested, False)),
    )
    return bool(result.rowcount == 1)


def _plain_unchanged(session: Handle, seen: LeaseState) -> tuple[str, list[Any]]:
    """`_unchanged` as plain SQL: the WHERE clause and its parameters."""
    clauses, params = ["id = ?", "status = ?"], [seen.tournament_id, seen.status]
    for name, value in (("runner", seen.runner), ("heartbeat_at", seen.heartbeat_at)):
        if value is None:
            clauses.append(f"{name} IS NULL")
        else:
            clauses.append(f"{name} = ?")
            params.append(_bind(session, _TOURNAMENTS.c[name], value))
    return " AND ".join(clauses), params


def renew_lease(session: Session, tournament_id: int, *, runner: str, now: datetime) -> bool | None:
    """Renew the heartbeat of a lease `runner` holds; returns whether a cancel was requested.

    None when the lease is no longer held by `runner` (it was taken over after going stale).
    """
    result = (
        session.connection()
        .execute(
            update(Tournament)
            .where(Tournament.id == tournament_id, Tournament.runner == runner)
            .values(heartbeat_at=now)
            .returning(Tournament.cancel_requested)
        )
        .first()
    )
    return None if result is None else bool(result[0])


def release_lease(
    session: Handle, tournament_id: int, *, runner: str, status: str, error: str | None, now: datetime
) -> bool:
    """End a run: set its final `status` and `error` and drop the lease, if `runner` still holds it."""
    if status not in TOURNAMENT_STATUSES:
        raise ValueError(f"invalid tournament status {status!r}: one of {', '.join(TOURNAMENT_STATUSES)}")
    finished_at = _bind(session, _TOURNAMENTS.c.finished_at, now if status in _TERMINAL else None)
    result = _plain(
        session,
        "UPDATE tournaments SET runner = NULL, heartbeat_at = NULL, status = ?, error = ?, finished_at = ?"
        " WHERE id = ? AND runner = ?",
        (status, error, finished_at, tournament_id, runner),
    )
    return bool(result.rowcount == 1)


def release_if_finished(session: Handle, tournament_id: int, *, runner: str, now: datetime) -> bool:
    """`release_lease` as 'finished' (no error) if `runner` holds the lease and every match of the
    tournament is finished; False, changing nothing, otherwise.

    The usual end of a run in one statement, where counting the matches first would take two.
    """
    result = _plain(
        session,
        "UPDATE tournaments SET runner = NULL, heartbeat_at = NULL, status = 'finished', error = NULL,"
        " finished_at = ? WHERE id = ? AND runner = ? AND NOT EXISTS"
        " (SELECT 1 FROM matches WHERE tournament_id = ? AND status <> 'finished')",
        (_bind(session, _TOURNAMENTS.c.finished_at, now), tournament_id, runner, tournament_id),
    )
    return bool(result.rowcount == 1)


def request_cancel(session: Session, tournament_id: int) -> bool:
    """Ask the runner to stop at the next match boundary; False if the tournament is already over."""
    result = session.connection().execute(
        update(Tournament)
        .where(Tournament.id == tournament_id, Tournament.status.in_(RUNNABLE))
        .values(cancel_requested=True)
    )
    return bool(result.rowcount == 1)


def cancel_unleased(session: Handle, seen: LeaseState, *, now: datetime) -> bool:
    """Cancel a tournament nobody (alive) runs, if it is still exactly as `seen`; drops a stale lease."""
    if seen.status not in RUNNABLE:
        return False
    result = _connection(session).execute(
        update(Tournament)
        .where(_unchanged(seen))
        .values(
            status="cancelled",
            cancel_requested=True,
            runner=None,
            heartbeat_at=None,
            finished_at=now,
            error="cancelled",
        )
    )
    return bool(result.rowcount == 1)


def fail_match(session: Session, match_id: int, error: str) -> bool:
    """Mark a pending match 'failed' with why (the engine's fault); its rounds are never stored."""
    result = session.connection().execute(
        update(_MATCHES)
        .where(_MATCHES.c.id == match_id, _MATCHES.c.status == "pending")
        .values(status="failed", error=error, finished_at=utcnow())
    )
    return bool(result.rowcount == 1)


def reset_failed_matches(session: Handle, tournament_id: int) -> int:
    """Make the tournament's failed matches pending again (a resumed run re-plays them); returns how many."""
    result = _plain(
        session,
        "UPDATE matches SET status = 'pending', error = NULL, finished_at = NULL"
        " WHERE tournament_id = ? AND status = 'failed'",
        (tournament_id,),
    )
    return int(result.rowcount)


def failed_matches(session: Session, tournament_id: int) -> list[tuple[int, str | None]]:
    """(match id, error) of the tournament's failed matches, by position."""
    query = (
        select(Match.id, Match.error)
        .where(Match.tournament_id == tournament_id, Match.status == "failed")
        .order_by(Match.position)
    )
    return [(match_id, error) for match_id, error in session.execute(query)]
