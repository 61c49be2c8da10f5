"""Write benchmark: recording played matches, one transaction per match, as a persisted run does.

Builds synthetic ipd matches shaped like the match loop's output (`RoundLog` rows, real payoffs and
scores: mostly plain rounds, a few noisy ones, now and then a player forfeiting a stretch of rounds, a
few log lines), then records them with `record_match` into a fresh database, each in its own
transaction (``with db.sessions.begin()``), and prints the cost per row and per match. A second pass
records one-round matches of the same shape: its cost per match is the fixed cost of a recording (the
UPDATE of the match row, the statements and the commit), whatever the rows cost.

Run: `.venv/bin/python -m benchmarks.bench_writes [--matches 280] [--rounds 200] [--repeats 5]
[--postgres URL]` (SQLite always; with --postgres also a new database on that server, dropped after).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from tournament import ENGINE_VERSION
from tournament.persistence.database import Database, open_database
from tournament.persistence.strategies import StrategyVersionInfo, add_version
from tournament.persistence.tournaments import MatchPlan, create_tournament, record_match
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import Game, get_game
from tournament.rules.records import RoundLog, RoundRow
from tournament.rules.rounds import score_round
from tournament.rules.scoring import MatchScore, score_match

PLAYERS = 8
"""Strategies in the synthetic field: 28 pairings, repeated until there are enough matches."""
NOISE = 0.01
"""Chance that noise flips a move (the noisy rounds are stored with all their values bound)."""
FORFEITING = 0.05
"""Share of matches in which a player forfeits a stretch of rounds (moves None, a reason stored)."""

Forfeits = tuple[tuple[str | None, str | None], tuple[str | None, str | None]]


@dataclass(frozen=True, slots=True)
class Played:
    """What `_record` hands to `record_match` for one match."""

    rounds: RoundLog
    score: MatchScore
    first_forfeits: Forfeits
    logs: tuple[tuple[str, int, str], ...]


def _match(game: Game, rounds: int, rng: random.Random) -> Played:
    """One match: two biased random players, noise on each move, maybe a stretch of forfeits."""
    bias_a, bias_b = rng.random(), rng.random()
    forfeit: tuple[int, int, str, ForfeitReason] | None = None
    if rng.random() < FORFEITING:
        start = rng.randrange(rounds)
        reason = rng.choice(list(ForfeitReason))
        forfeit = (start, start + rng.randint(1, 5), rng.choice("ab"), reason)
    rows: list[RoundRow] = []
    first: list[tuple[str | None, str | None]] = [(None, None), (None, None)]
    for index in range(rounds):
        move_a: int | None = 0 if rng.random() < bias_a else 1
        move_b: int | None = 0 if rng.random() < bias_b else 1
        noise_a = rng.random() < NOISE
        noise_b = rng.random() < NOISE
        if noise_a:
            move_a = 1 - (move_a or 0)
        if noise_b:
            move_b = 1 - (move_b or 0)
        reason_a = reason_b = None
        if forfeit is not None and forfeit[0] <= index < forfeit[1]:
            if forfeit[2] == "a":
                move_a, noise_a, reason_a = None, False, forfeit[3]
                first[0] = first[0] if first[0][0] else (str(forfeit[3]), "benchmark forfeit")
            else:
                move_b, noise_b, reason_b = None, False, forfeit[3]
                first[1] = first[1] if first[1][0] else (str(forfeit[3]), "benchmark forfeit")
        payoff_a, payoff_b = score_round(game, move_a, move_b)
        fuel_a = 0 if reason_a else rng.randrange(500, 5000)
        fuel_b = 0 if reason_b else rng.randrange(500, 5000)
        rows.append(
            (index, move_a, move_b, payoff_a, payoff_b, noise_a, noise_b, reason_a, reason_b, fuel_a, fuel_b)
        )
    log = RoundLog(rows)
    logs = (("a", 0, "hello"),) if rng.random() < 0.1 else ()
    return Played(log, score_match(game, log), (first[0], first[1]), logs)


def played_matches(count: int, rounds: int, seed: int = 7) -> list[Played]:
    game = get_game("ipd")
    rng = random.Random(seed)
    return [_match(game, rounds, rng) for _ in range(count)]


def _field(db: Database) -> list[StrategyVersionInfo]:
    with db.sessions.begin() as session:
        return [
            add_version(
                session,
                name=f"writer-{index}",
                data=b"\x00asm\x0d\x00\x01\x00" + f"writer-{index}".encode(),
                version="1.0.0",
                language="c",
                games=["ipd"],
                description="benchmark player (never run)",
                deterministic=True,
            )
            for index in range(PLAYERS)
        ]


def _tournament(db: Database, players: Sequence[StrategyVersionInfo], matches: int, rounds: int) -> list[int]:
    """A pending tournament of `matches` matches; their ids in position order."""
    pairs = [(a, b) for i, a in enumerate(players) for b in players[i + 1 :]]
    plans = [
        MatchPlan(position, position // len(pairs), a.version_id, b.version_id, seed=position)
        for position, (a, b) in ((p, pairs[p % len(pairs)]) for p in range(matches))
    ]
    with db.sessions.begin() as session:
        tournament_id = create_tournament(
            session, game="ipd", rounds=rounds, repetitions=-(-matches // len(pairs)), seed=1, noise=NOISE,
            config={}, engine_version=ENGINE_VERSION, participants=players, matches=plans,
        )  # fmt: skip
        ids = session.execute(
            text("SELECT id FROM matches WHERE tournament_id = :t ORDER BY position"), {"t": tournament_id}
        )
        return [row[0] for row in ids]


def record_all(db: Database, match_ids: Sequence[int], played: Sequence[Played]) -> tuple[float, float]:
    """(wall, CPU) seconds to record every match, one transaction each (the clocks cover the writes only).

    The CPU time of this process is what SQLite costs whatever else the machine runs (PostgreSQL's own
    work is in its server, so there only the wall time tells)."""
    start, cpu = time.perf_counter(), time.process_time()
    for match_id, match in zip(match_ids, played, strict=True):
        with db.sessions.begin() as session:
            record_match(
                session, match_id, score=match.score, rounds=match.rounds,
                first_forfeits=match.first_forfeits, logs=match.logs,
            )  # fmt: skip
    return time.perf_counter() - start, time.process_time() - cpu


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-writes-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_url(server: str) -> Iterator[str]:
    """A new database on the server, dropped afterwards (the URL's own database is left alone)."""
    name = f"bench_writes_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(server).set(drivername="postgresql+psycopg", database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def measure(
    new_url: Callable[[], AbstractContextManager[str]], played: Sequence[Played], repeats: int
) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per run of recording `played`, each run into a database of its own."""
    samples = []
    for _ in range(repeats):
        with new_url() as url:
            db = open_database(url)
            try:
                match_ids = _tournament(db, _field(db), len(played), played[0].score.rounds)
                samples.append(record_all(db, match_ids, played))
            finally:
                db.close()
    return samples


def report(label: str, new_url: Callable[[], AbstractContextManager[str]], args: argparse.Namespace) -> None:
    long = played_matches(args.matches, args.rounds)
    rows = sum(match.score.rounds for match in long)
    timed = measure(new_url, long, args.repeats)
    fixed = measure(new_url, played_matches(args.matches, 1), args.repeats)
    print(f"{label}: {args.matches} matches x {args.rounds} rounds ({rows} rows), {args.repeats} runs")
    print(f"   {'':36} {'wall':>8} {'(best)':>8} {'cpu':>8} {'(best)':>8}   (medians, best of the runs)")
    for name, samples, per in (
        ("us/row", timed, rows),
        ("us/match", timed, args.matches),
        ("us/match, 1-round matches (fixed)", fixed, args.matches),
    ):
        walls, cpus = [wall for wall, _ in samples], [cpu for _, cpu in samples]
        figures = (statistics.median(walls), min(walls), statistics.median(cpus), min(cpus))
        print(f"   {name:36}" + "".join(f" {value / per * 1e6:8.2f}" for value in figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=280)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL server")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    report("sqlite", sqlite_url, args)
    if args.postgres:
        server = args.postgres
        report("postgresql", lambda: postgres_url(server), args)


if __name__ == "__main__":
    main()
