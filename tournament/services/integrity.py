"""`tournament check`: does the database still say exactly what the runs recorded?

Every check is a set-based query streamed in batches; a match's round blocks are decoded one at a time,
so nothing proportional to the rounds is held in memory. A problem is one line naming the row and what is
wrong with it; an empty list means consistent. Interrupted runs (a 'running' tournament whose runner is
gone) are reported as notes, not problems: they are a normal state after a crash, and `tournament resume`
finishes them.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session, aliased

from tournament.persistence import round_blocks
from tournament.persistence.database import Database
from tournament.persistence.errors import UnknownTournamentError
from tournament.persistence.models import (
    ComponentBlob,
    Match,
    MatchLog,
    RoundBlock,
    StrategyVersion,
    Tournament,
    TournamentEntry,
    utcnow,
)
from tournament.rules.errors import RulesError
from tournament.rules.games import get_game
from tournament.rules.scoring import MatchOutcome
from tournament.services.run_lease import describe_lease, lease_is_live

BLOCK_BATCH = 32
"""Matches' round blocks per round trip (up to 32 x 56 KiB)."""


@dataclass
class IntegrityReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Not inconsistencies: interrupted runs waiting for a resume."""
    tournaments: int = 0
    matches: int = 0
    rounds: int = 0
    blobs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        checked = (
            f"{self.tournaments} tournament{'s' * (self.tournaments != 1)}, {self.matches} matches, "
            f"{self.rounds} rounds, {self.blobs} component blob{'s' * (self.blobs != 1)}"
        )
        if self.problems:
            return f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)} in {checked}"
        notes = f"; {'; '.join(self.notes)}" if self.notes else ""
        return f"ok: {checked} consistent{notes}"

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "notes": self.notes,
            "checked": {
                "tournaments": self.tournaments,
                "matches": self.matches,
                "rounds": self.rounds,
                "blobs": self.blobs,
            },
        }


def check_database(db: Database, tournament_id: int | None = None) -> IntegrityReport:
    """Check every tournament (or one) and the component blobs they use (or all of them)."""
    report = IntegrityReport()
    with db.sessions() as session:
        if tournament_id is not None and session.get(Tournament, tournament_id) is None:
            raise UnknownTournamentError(f"no tournament with id {tournament_id}")
        scope = _Scope(tournament_id)
        _check_tournaments(session, scope, report)
        _check_matches(session, scope, report)
        _check_orphan_rows(session, scope, report)
        _check_participants(session, scope, report)
        _check_blobs(session, scope, report)
    return report


@dataclass(frozen=True, slots=True)
class _Scope:
    tournament_id: int | None

    def tournaments(self) -> ColumnElement[bool]:
        return Tournament.id == self.tournament_id if self.tournament_id is not None else true()

    def matches(self) -> ColumnElement[bool]:
        if self.tournament_id is None:
            return true()
        return Match.tournament_id == self.tournament_id


def _check_tournaments(session: Session, scope: _Scope, report: IntegrityReport) -> None:
    counts = (
        select(
            Match.tournament_id,
            func.count().label("total"),
            func.count().filter(Match.status != "finished").label("unfinished"),
        )
        .where(scope.matches())
        .group_by(Match.tournament_id)
        .subquery()
    )
    entries = (
        select(TournamentEntry.tournament_id, func.count().label("n"))
        .group_by(TournamentEntry.tournament_id)
        .subquery()
    )
    query = (
        select(
            Tournament.id,
            Tournament.status,
            Tournament.repetitions,
            Tournament.runner,
            Tournament.heartbeat_at,
            Tournament.finished_at,
            func.coalesce(counts.c.total, 0),
            func.coalesce(counts.c.unfinished, 0),
            func.coalesce(entries.c.n, 0),
        )
        .outerjoin(counts, counts.c.tournament_id == Tournament.id)
        .outerjoin(entries, entries.c.tournament_id == Tournament.id)
        .where(scope.tournaments())
        .order_by(Tournament.id)
    )
    now = utcnow()
    for tid, status, repetitions, runner, heartbeat, finished_at, total, unfinished, n in session.execute(
        query
    ):
        report.tournaments += 1
        where = f"tournament {tid}"
        expected = n * (n - 1) // 2 * repetitions
        if total != expected:
            report.problems.append(
                f"{where}: has {total} matches, expected {expected} "
                f"({n} participants x {repetitions} repetitions)"
            )
        if status == "finished" and unfinished:
            report.problems.append(f"{where}: finished but {unfinished} of its matches are not")
        if status in ("finished", "failed", "cancelled") and finished_at is None:
            report.problems.append(f"{where}: {status} but has no finished_at")
        if runner is not None and status != "running":
            report.problems.append(f"{where}: {status} but still leased by {runner}")
        if status == "running" and (runner is None or not lease_is_live(runner, heartbeat, now)):
            who = "no runner" if runner is None else describe_lease(runner, heartbeat, now)
            report.notes.append(f"tournament {tid} was interrupted ({who}): tournament resume {tid}")


_TOTALS = ("total_a", "total_b", "wins_a", "wins_b", "draws", "forfeits_a", "forfeits_b")


@dataclass
class _Rounds:
    """What a match's round blocks add up to, block by block: memory stays flat however long the match."""

    where: str
    problems: list[str]
    blocks: int = 0
    n: int = 0
    first: int = 0
    last: int = -1
    corrupt: bool = False
    """Some block did not decode, so the sums leave its rounds out."""
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_TOTALS, 0))

    def add(self, block: round_blocks.Block) -> None:
        self.blocks += 1
        if self.blocks == 1:
            self.first = block.first_round
        elif block.first_round <= self.last:
            self.problems.append(
                f"{self.where}: round blocks overlap at rounds {block.first_round}..{self.last}"
            )
        elif block.first_round > self.last + 1:
            self.problems.append(
                f"{self.where}: round blocks leave a gap at rounds {self.last + 1}..{block.first_round - 1}"
            )
        self.n += max(block.rounds, 0)
        self.last = max(self.last, block.first_round + block.rounds - 1)
        try:
            if block.rounds <= 0:
                raise round_blocks.RoundEncodingError(f"it holds {block.rounds} rounds")
            payoff_a = round_blocks.column(block, "payoff_a")
            payoff_b = round_blocks.column(block, "payoff_b")
            forfeits_a = forfeits_b = 0
            if any(round_blocks.column(block, "flags")):
                for row in round_blocks.decode(block):
                    forfeits_a += row[7] is not None
                    forfeits_b += row[8] is not None
        except round_blocks.RoundEncodingError as error:
            self.corrupt = True
            self.problems.append(
                f"{self.where}: the round block at round {block.first_round} is corrupt: {error}"
            )
            return
        self.sums["total_a"] += sum(payoff_a)
        self.sums["total_b"] += sum(payoff_b)
        self.sums["wins_a"] += sum(map(operator.gt, payoff_a, payoff_b))
        self.sums["wins_b"] += sum(map(operator.lt, payoff_a, payoff_b))
        self.sums["draws"] += sum(map(operator.eq, payoff_a, payoff_b))
        self.sums["forfeits_a"] += forfeits_a
        self.sums["forfeits_b"] += forfeits_b


def _check_matches(session: Session, scope: _Scope, report: IntegrityReport) -> None:
    """Each match against its round blocks, which are decoded one at a time in the order they are stored."""
    query = (
        select(
            Match.id,
            Match.tournament_id,
            Match.status,
            Match.rounds_played,
            Match.outcome,
            Match.error,
            Tournament.rounds,
            Tournament.game,
            *(getattr(Match, name) for name in _TOTALS),
            RoundBlock.first_round,
            RoundBlock.rounds,
            RoundBlock.width,
            RoundBlock.data,
        )
        .join(Tournament, Match.tournament_id == Tournament.id)
        .outerjoin(RoundBlock, RoundBlock.match_id == Match.id)
        .where(scope.matches())
        .order_by(Match.id, RoundBlock.first_round)
        .execution_options(yield_per=BLOCK_BATCH)
    )
    for _, group in itertools.groupby(session.execute(query), key=operator.itemgetter(0)):
        row = next(group)
        match_id, tid, status, played, outcome, error, planned, game = row[:8]
        stored = dict(zip(_TOTALS, row[8:15], strict=True))
        where = f"tournament {tid} match {match_id}"
        rounds = _Rounds(where, report.problems)
        if row[15] is not None:
            for block_row in itertools.chain((row,), group):
                rounds.add(round_blocks.Block(*block_row[15:]))
        n, first, last = rounds.n, rounds.first, rounds.last
        report.matches += 1
        report.rounds += n
        if status != "finished":
            if n:
                report.problems.append(f"{where}: {status} but has {n} recorded rounds")
            if played is not None or outcome is not None:
                report.problems.append(f"{where}: {status} but has a result (rounds_played {played})")
            if status == "failed" and not error:
                report.problems.append(f"{where}: failed without an error message")
            continue
        if played != planned:
            report.problems.append(f"{where}: rounds_played is {played}, the tournament plays {planned}")
        if n != (played or 0) or (n and (first != 0 or last != n - 1)):
            numbered = f"numbered {first}..{last}" if n else "none"
            report.problems.append(
                f"{where}: its round blocks hold {n} rounds ({numbered}), "
                f"expected {played} numbered 0..{(played or 0) - 1}"
            )
        for name in _TOTALS:
            if n and not rounds.corrupt and stored[name] != rounds.sums[name]:
                report.problems.append(
                    f"{where}: {name} is {stored[name]} but its rounds sum to {rounds.sums[name]}"
                )
        expected = _outcome(game, played or 0, stored["total_a"], stored["total_b"])
        if expected is not None and outcome != expected:
            report.problems.append(f"{where}: outcome is {outcome!r}, its totals give {expected!r}")


def _outcome(game: str, rounds: int, total_a: int | None, total_b: int | None) -> str | None:
    if total_a is None or total_b is None:
        return None
    try:
        margin = get_game(game).draw_margin(rounds)
    except RulesError:
        return None
    difference = total_a - total_b
    if difference > margin:
        return MatchOutcome.A_WINS.value
    if difference < -margin:
        return MatchOutcome.B_WINS.value
    return MatchOutcome.DRAW.value


def _check_orphan_rows(session: Session, scope: _Scope, report: IntegrityReport) -> None:
    """Logs of unfinished matches, and round blocks or logs whose match does not exist."""
    logs = (
        select(Match.tournament_id, Match.id, Match.status, func.count())
        .join(MatchLog, MatchLog.match_id == Match.id)
        .where(scope.matches(), Match.status != "finished")
        .group_by(Match.tournament_id, Match.id, Match.status)
    )
    for tid, match_id, status, count in session.execute(logs):
        report.problems.append(f"tournament {tid} match {match_id}: {status} but has {count} log lines")
    if scope.tournament_id is not None:
        return
    for table, name in ((RoundBlock, "round blocks"), (MatchLog, "log lines")):
        orphans = session.execute(
            select(table.match_id, func.count())
            .outerjoin(Match, Match.id == table.match_id)
            .where(Match.id.is_(None))
            .group_by(table.match_id)
        )
        for match_id, count in orphans:
            report.problems.append(f"match {match_id}: does not exist but has {count} {name}")


def _check_participants(session: Session, scope: _Scope, report: IntegrityReport) -> None:
    """Matches play participants of their tournament; entries name stored versions."""
    for seat in ("a", "b"):
        version = getattr(Match, f"version_{seat}_id")
        entry = aliased(TournamentEntry)
        query = (
            select(Match.tournament_id, Match.id, version)
            .outerjoin(
                entry, and_(entry.tournament_id == Match.tournament_id, entry.strategy_version_id == version)
            )
            .where(scope.matches(), entry.tournament_id.is_(None))
            .order_by(Match.id)
        )
        for tid, match_id, version_id in session.execute(query):
            report.problems.append(
                f"tournament {tid} match {match_id}: player {seat} (version {version_id}) "
                "is not a participant"
            )
    entries = (
        select(TournamentEntry.tournament_id, TournamentEntry.strategy_version_id)
        .outerjoin(StrategyVersion, StrategyVersion.id == TournamentEntry.strategy_version_id)
        .where(StrategyVersion.id.is_(None))
    )
    if scope.tournament_id is not None:
        entries = entries.where(TournamentEntry.tournament_id == scope.tournament_id)
    for tid, version_id in session.execute(entries):
        report.problems.append(f"tournament {tid}: participant version {version_id} does not exist")


def _check_blobs(session: Session, scope: _Scope, report: IntegrityReport) -> None:
    """Stored component bytes hash to their content hash; every version's blob exists."""
    hashes = select(StrategyVersion.content_hash)
    if scope.tournament_id is not None:
        hashes = hashes.join(
            TournamentEntry, TournamentEntry.strategy_version_id == StrategyVersion.id
        ).where(TournamentEntry.tournament_id == scope.tournament_id)
    missing = session.execute(
        select(StrategyVersion.id, StrategyVersion.content_hash)
        .outerjoin(ComponentBlob, ComponentBlob.content_hash == StrategyVersion.content_hash)
        .where(ComponentBlob.content_hash.is_(None), StrategyVersion.content_hash.in_(hashes))
    )
    for version_id, digest in missing:
        report.problems.append(f"strategy version {version_id}: component blob {digest[:12]} is missing")
    for digest, size, data in _blobs(session, scope, hashes):
        report.blobs += 1
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            report.problems.append(f"component blob {digest[:12]}: its bytes hash to {actual[:12]}")
        elif size != len(data):
            report.problems.append(
                f"component blob {digest[:12]}: size is {size} but it holds {len(data)} bytes"
            )


def _blobs(session: Session, scope: _Scope, hashes: Any) -> Iterator[tuple[str, int, bytes]]:
    query = select(ComponentBlob.content_hash, ComponentBlob.size, ComponentBlob.data).order_by(
        ComponentBlob.content_hash
    )
    if scope.tournament_id is not None:
        query = query.where(ComponentBlob.content_hash.in_(hashes))
    for digest, size, data in session.execute(query.execution_options(yield_per=16)):
        yield digest, size, bytes(data)
