"""Read-query benchmark: the results API on a large history (200 strategies, 20,000 finished matches).

Seeds a fresh SQLite file through the repository functions (no sandbox: synthetic 10-round rps matches with
real payoffs and scores), then times the API in-process over httpx's ASGI transport:
the leaderboard (`/api/ratings`, first request = rating replay, later ones = cache), the standings and
head-to-head of the big tournament (200 players, 19,900 matches), a page of a match's rounds, a page of
the tournament's matches and a strategy's rating history.

Run: `.venv/bin/python benchmarks/bench_queries.py [--quick]` (about 1-2 minutes; --quick: seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tournament import ENGINE_VERSION
from tournament.api import create_app
from tournament.persistence.database import Database, open_database
from tournament.persistence.strategies import StrategyVersionInfo, add_version
from tournament.persistence.tournaments import (
    MatchPlan,
    create_tournament,
    list_matches,
    record_match,
    set_status,
)
from tournament.rules.games import get_game
from tournament.rules.records import RoundRecord
from tournament.rules.scoring import score_match

REPO = Path(__file__).resolve().parents[1]
COMPONENT = REPO / "strategies" / "build" / "constant.wasm"
ROUNDS = 10
BATCH = 500
"""Matches recorded per transaction while seeding."""


def _register(db: Database, count: int) -> list[StrategyVersionInfo]:
    """`count` strategies sharing one component (stored once: blobs are content-addressed)."""
    data = COMPONENT.read_bytes()
    with db.sessions.begin() as session:
        return [
            add_version(
                session,
                name=f"bench-{index:03d}",
                data=data,
                version="1.0.0",
                language="wat",
                games=["rps"],
                description="benchmark copy of constant",
                deterministic=True,
            )
            for index in range(count)
        ]


def _tournament(db: Database, players: list[StrategyVersionInfo], repetitions: int, seed: int) -> int:
    pairs = list(itertools.combinations(players, 2))
    plans = [
        MatchPlan(position, repetition, a.version_id, b.version_id, seed * 1_000_003 + position)
        for position, (repetition, (a, b)) in enumerate(itertools.product(range(repetitions), pairs))
    ]
    with db.sessions.begin() as session:
        return create_tournament(
            session, game="rps", rounds=ROUNDS, repetitions=repetitions, seed=seed, noise=0.0, config={},
            engine_version=ENGINE_VERSION, participants=players, matches=plans,
        )  # fmt: skip


def _play(db: Database, tournament_id: int, rng: random.Random) -> int:
    """Record every match of the tournament with random (but real) rps rounds."""
    game = get_game("rps")
    with db.sessions() as session:
        matches = list_matches(session, tournament_id)
    for start in range(0, len(matches), BATCH):
        with db.sessions.begin() as session:
            for match in matches[start : start + BATCH]:
                bias = rng.random()
                rounds = []
                for index in range(ROUNDS):
                    a = 0 if rng.random() < bias else rng.randrange(3)
                    b = rng.randrange(3)
                    rounds.append(RoundRecord(index, a, b, *game.payoff(a, b), fuel_a=100, fuel_b=100))
                record_match(
                    session, match.match_id, score=score_match(game, rounds), rounds=rounds,
                    first_forfeits=((None, None), (None, None)),
                )  # fmt: skip
    with db.sessions.begin() as session:
        set_status(session, tournament_id, "running")
        set_status(session, tournament_id, "finished")
    return len(matches)


def seed(db: Database, strategies: int, small: int) -> tuple[int, int]:
    """(big tournament id, matches recorded): one all-play-all of every strategy, then small ones."""
    rng = random.Random(7)
    players = _register(db, strategies)
    big = _tournament(db, players, 1, 1)
    total = _play(db, big, rng)
    for index in range(small):
        total += _play(db, _tournament(db, rng.sample(players, 5), 2, 100 + index), rng)
    return big, total


async def _time(client: httpx.AsyncClient, path: str, repeats: int) -> tuple[float, float]:
    """(first, median of the rest) response time in ms; fails loudly on a non-200."""
    samples = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        response = await client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return samples[0], statistics.median(samples[1:])


async def measure(db_url: str, big: int, repeats: int) -> None:
    app = create_app(db_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            matches = (await client.get(f"/api/tournaments/{big}/matches", params={"limit": 1})).json()
            match_id = matches["items"][0]["match_id"]
            paths = [
                "/api/ratings?game=rps&limit=50",
                f"/api/tournaments/{big}/standings",
                f"/api/tournaments/{big}/h2h",
                f"/api/matches/{match_id}/rounds?offset=5&limit=200",
                f"/api/tournaments/{big}/matches?limit=50&offset=10000",
                "/api/tournaments?limit=50",
                "/api/strategies/bench-007/history?game=rps",
            ]
            print(f"{'endpoint':58} {'first ms':>9} {'median ms':>10}")
            for path in paths:
                first, median = await _time(client, path, repeats)
                print(f"{path:58} {first:9.1f} {median:10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 strategies, a few hundred matches")
    args = parser.parse_args()
    strategies, small, repeats = (20, 5, 3) if args.quick else (200, 5, 7)
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        db = open_database(db_url)
        try:
            start = time.perf_counter()
            big, total = seed(db, strategies, small)
            print(f"seeded {strategies} strategies, {total} finished matches ({ROUNDS} rounds each) "
                  f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
        finally:
            db.close()
        asyncio.run(measure(db_url, big, repeats))


if __name__ == "__main__":
    main()
