"""Creating, running and reading tournaments: the glue between rules, sandbox, orchestration and storage."""

from __future__ import annotations

import contextlib
import enum
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby
from pathlib import Path

import anyio
import anyio.lowlevel
import anyio.to_thread

from tournament import ENGINE_VERSION
from tournament.orchestration.executors import (
    ComponentSource,
    UnknownExecutorError,
    check_executor_spec,
    open_executor,
    prestart_local_workers,
)
from tournament.orchestration.executors.local import (
    COLD_START_S,
    InProcessExecutor,
    LocalProcessExecutor,
    zygote_pid,
)
from tournament.orchestration.executors.pool import WorkerPool
from tournament.orchestration.heap import keep_freed_heap
from tournament.orchestration.jobs import MatchJob, Seat, execute
from tournament.orchestration.match import MatchPlayed
from tournament.orchestration.pairing import round_robin
from tournament.orchestration.runner import run_chains
from tournament.persistence import strategies as strategy_repo
from tournament.persistence import tournaments as tournament_repo
from tournament.persistence.database import Database
from tournament.persistence.tournaments import MatchInfo, MatchPlan, TournamentInfo
from tournament.rules.games import get_game
from tournament.rules.records import RoundRecord
from tournament.rules.seeds import SEED_BITS, derive_seed, opponent_id
from tournament.rules.standings import MatchSummary, Standing, compute_standings
from tournament.sandbox.artifacts import artifact_path, default_cache_dir
from tournament.sandbox.engine import EngineSettings
from tournament.sandbox.errors import BadComponentError
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.runtime import SandboxRuntime
from tournament.services.errors import InvalidRequestError, LeaseLostError
from tournament.services.recording import RecordInWorker, record_played, workers_can_record
from tournament.services.runs import RunLease, start_run

MAX_ROUNDS = 1_000_000
STAND_IN_ENV = "TOURNAMENT_STAND_IN"
"""Set to 0 so that a short one-shot run with local worker processes (no pool: they would all start
cold) starts them at once instead of playing in this process until they are worth starting (see
`LocalProcessExecutor`'s `inline`); for side-by-side benchmarks. A pool's host leaves every run to its
workers: its runs after the first find them warm."""
FASTEST_ROUND_S = 2e-6
"""Less than any round has cost a worker to play and record (8 C strategies' IPD: about 2.5 us): a run
whose rounds, shared by its workers, outlast a cold worker's start (`COLD_START_S`) even at this pace
starts every worker at once, without measuring its pace in this process first."""


class HistoryScope(enum.StrEnum):
    """Which earlier meetings of two strategies a match's players are told about."""

    NONE = "none"
    TOURNAMENT = "tournament"
    """Earlier repetitions in the same tournament (the default: results depend only on seed and field)."""
    ALL = "all"
    """Also meetings in earlier tournaments of the same game: results then depend on the database's past."""


@dataclass(frozen=True, slots=True)
class TournamentRequest:
    game: str
    rounds: int
    seed: int | None = None
    """None: a fresh random seed, recorded so the run can be reproduced."""
    strategies: Sequence[str] | None = None
    """None: every active strategy that plays the game."""
    repetitions: int = 1
    noise: float = 0.0
    hidden_rounds: bool = False
    history: HistoryScope = HistoryScope.TOURNAMENT
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    allow_wasi: bool = False
    """Admit WASI components (marked non-deterministic): the organizer's explicit choice."""
    tags: Sequence[str] | None = None
    """Instead of ``strategies``: every active strategy of the game carrying any of these tags."""
    schedule_id: int | None = None
    """The schedule this run belongs to (None: started by hand)."""
    scheduled_for: datetime | None = None
    """The schedule slot (aware UTC) this run stands for; unique per schedule."""


def check_sizes(rounds: int, repetitions: int, noise: float, seed: int | None, *, prefix: str = "") -> None:
    """The ranges a tournament's sizes must be in, for requests and for schedule templates alike (whose
    messages name the command's options: ``prefix="--"``)."""
    if not 1 <= rounds <= MAX_ROUNDS:
        raise InvalidRequestError(f"{prefix}rounds must be between 1 and {MAX_ROUNDS}, got {rounds}")
    if repetitions < 1:
        raise InvalidRequestError(f"{prefix}repetitions must be at least 1, got {repetitions}")
    if not 0.0 <= noise <= 1.0:
        raise InvalidRequestError(f"{prefix}noise must be a probability between 0 and 1, got {noise}")
    if seed is not None and not 0 <= seed < 2**SEED_BITS:
        raise InvalidRequestError(f"{prefix}seed must be between 0 and 2**{SEED_BITS} - 1, got {seed}")


def create_tournament(db: Database, request: TournamentRequest) -> int:
    """Validate the request, snapshot the participants' exact versions and plan every match."""
    game = get_game(request.game)
    seed = secrets.randbits(SEED_BITS) if request.seed is None else request.seed
    check_sizes(request.rounds, request.repetitions, request.noise, seed)
    if request.strategies is not None and len(set(request.strategies)) != len(request.strategies):
        raise InvalidRequestError("each strategy may be listed only once")
    with db.sessions.begin() as session:
        if request.tags is not None:
            participants = strategy_repo.active_versions_by_tags(session, game.name, request.tags)
        else:
            participants = strategy_repo.active_versions(session, game.name, request.strategies)
        if len(participants) < 2:
            raise InvalidRequestError(
                f"a tournament needs at least 2 strategies that play {game.name}, found {len(participants)}"
            )
        pairings = round_robin([p.name for p in participants], repetitions=request.repetitions, seed=seed)
        plans = [
            MatchPlan(
                position=pairing.position,
                repetition=pairing.repetition,
                version_a_id=participants[pairing.a].version_id,
                version_b_id=participants[pairing.b].version_id,
                seed=pairing.seed,
            )
            for pairing in pairings
        ]
        config: dict[str, object] = {
            "limits": request.limits.to_dict(),
            "hidden_rounds": request.hidden_rounds,
            "history": str(request.history),
            "allow_wasi": request.allow_wasi,
        }
        return tournament_repo.create_tournament(
            session,
            game=game.name,
            rounds=request.rounds,
            repetitions=request.repetitions,
            seed=seed,
            noise=request.noise,
            config=config,
            engine_version=ENGINE_VERSION,
            participants=participants,
            matches=plans,
            schedule_id=request.schedule_id,
            scheduled_for=request.scheduled_for,
        )


ProgressCallback = Callable[[MatchInfo, MatchPlayed], None]
"""Called on the event loop once a match is recorded. Its score and first forfeits are always there; its
rounds and logs are empty when the worker process that played it recorded it (local worker processes
do): read them from the database."""


def prepare_workers(workers: int | None, executor: str | None, db: Database | None = None) -> None:
    """Get local worker processes ready to start while this process is single-threaded, so that each
    worker costs a fork rather than a fresh interpreter; a no-op for in-process and Dask runs. A caller
    about to start threads of its own (a progress bar) calls it first; `run_tournament` calls it too.

    `db`: the run's database. Its pooled connections are closed before the zygote is forked, so that the
    workers may open the file themselves to record their matches (see `workers_may_open`).
    """
    if check_executor_spec(executor) is None and (workers or os.cpu_count() or 1) > 1:
        if db is not None and zygote_pid() is None:
            db.close()
        prestart_local_workers()


def check_executor(spec: str | None) -> None:
    """Refuse an unknown --executor spec before anything is created (InvalidRequestError, one line)."""
    try:
        check_executor_spec(spec)
    except UnknownExecutorError as error:
        raise InvalidRequestError(str(error)) from None


def run_tournament(
    db: Database,
    tournament_id: int,
    *,
    workers: int | None = None,
    executor: str | None = None,
    on_match: ProgressCallback | None = None,
    cache_dir: Path | None = None,
    pool: WorkerPool | None = None,
) -> TournamentInfo:
    """Play the tournament's pending and failed matches under its run lease, recording each one.

    The one entry point for first runs and resumes: a finished or cancelled tournament is returned at
    once; a live runner elsewhere raises TournamentBusyError. The final status is 'finished' when every
    match is recorded, 'cancelled' after `tournament cancel`, else 'failed' with the reason (matches whose
    worker died twice; resuming plays them again). A failure of the engine itself marks it failed and is
    raised. `workers`: local processes (default: one per core) or Dask jobs in flight; `executor`: see
    `orchestration.executors.open_executor`; `pool`: a long-lived host's warm runtimes and worker
    processes (`orchestration.executors.pool`), which the run borrows and gives back (None: a cold start).
    """
    check_executor(executor)
    keep_freed_heap()
    started = start_run(db, tournament_id)
    info, lease = started.info, started.lease
    if lease is None:
        return info
    # `info` was read before the claim: what a run reads from it never changes
    run = _Run(db, info, lease, on_match, cache_dir, started.pending)
    try:
        prepare_workers(workers, executor, db)
        anyio.run(run.play, executor, workers, pool)
    except BaseException as error:
        cause = _unwrap(error)
        reason = "interrupted (SIGINT)" if isinstance(cause, KeyboardInterrupt) else str(cause)
        lease.release("failed", reason or type(cause).__name__)
        if cause is error:
            raise
        raise cause from None
    if lease.lost:
        raise LeaseLostError(
            f"tournament {tournament_id}: another runner took its lease over; this run stopped"
        )
    status, message, released = lease.finish(run.outcome)
    if not released:
        return get_tournament(db, tournament_id)
    finished_at = lease.released_at if status in ("finished", "failed", "cancelled") else None
    return replace(info, status=status, error=message, started_at=lease.started_at, finished_at=finished_at)


class _Run:
    """One run of a tournament's pending matches under a held lease."""

    def __init__(
        self,
        db: Database,
        info: TournamentInfo,
        lease: RunLease,
        on_match: ProgressCallback | None,
        cache_dir: Path | None,
        pending: Sequence[MatchInfo],
    ) -> None:
        self.db, self.info, self.lease, self.on_match, self.cache_dir = db, info, lease, on_match, cache_dir
        self.failures: list[str] = []
        self.pending = pending
        """The matches to play, as `start_run` read them in the claim's transaction."""

    async def play(self, spec: str | None, workers: int | None, pool: WorkerPool | None = None) -> None:
        limits = SandboxLimits.from_dict(dict(self.info.config["limits"]))
        local = spec is None or spec == "local"
        count = (workers or os.cpu_count() or 1) if local else (workers or 0)
        short = len(self.pending) * self.info.rounds * FASTEST_ROUND_S <= count * COLD_START_S
        stand_in = short and local and count > 1 and pool is None and os.environ.get(STAND_IN_ENV, "1") != "0"
        runtime: SandboxRuntime | None = None
        rejected: dict[str, str] = {}
        if not local or count <= 1 or not _all_compiled(self.info, limits, self.cache_dir):
            runtime = (
                SandboxRuntime(limits.stack_bytes, self.cache_dir)
                if pool is None
                else pool.lease_runtime(limits.stack_bytes, self.cache_dir)
            )
        inline = _InlinePlayer(self.db, limits, self.cache_dir, runtime) if stand_in else None
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self.lease.keep_alive, group.cancel_scope.cancel)
                scope = HistoryScope(str(self.info.config.get("history", HistoryScope.TOURNAMENT)))
                independent = scope is HistoryScope.NONE or limits.history_cap == 0
                chains = _chains(self.pending, independent=independent)
                executor = open_executor(
                    spec, workers=count, runtime=runtime, cache_dir=self.cache_dir,
                    components=_component_source(self.db), pool=pool, inline=inline,
                )  # fmt: skip
                if isinstance(executor, LocalProcessExecutor):
                    await executor.start(len(chains))
                if runtime is not None:
                    rejected = await _prepare_participants(self.db, self.info, runtime)
                in_workers = isinstance(executor, LocalProcessExecutor) and workers_can_record(self.db)
                planner = _JobPlanner(
                    self.db, self.info, limits, rejected, self.cache_dir, record_in_workers=in_workers
                )
                recorder = _Recorder(
                    self.db,
                    self.on_match,
                    capacity=max(2, 2 * executor.slots),
                    inline_rounds=None if isinstance(executor, InProcessExecutor) else INLINE_ROUNDS,
                )
                async with anyio.create_task_group() as work:
                    work.start_soon(recorder.run)
                    try:
                        await run_chains(
                            chains,
                            executor=executor,
                            build_job=planner.job,
                            on_done=self._recorded_by_worker if in_workers else recorder.record,
                            on_failed=self._failed,
                            should_stop=lambda: self.lease.cancel_requested,
                        )
                    finally:
                        with anyio.CancelScope(shield=True):
                            await executor.aclose()
                    recorder.close()
                group.cancel_scope.cancel()
        finally:
            if inline is not None:
                inline.close()
            if runtime is not None and pool is not None:
                pool.return_runtime(runtime)
            elif runtime is not None:
                runtime.close()

    def _recorded_by_worker(self, match: MatchInfo, played: MatchPlayed) -> None:
        """A match its worker has recorded (its reply comes after the commit): report it."""
        if self.on_match is not None:
            self.on_match(match, played)

    def _failed(self, match: MatchInfo, error: str) -> None:
        with self.db.sessions.begin() as session:
            tournament_repo.fail_match(session, match.match_id, error)
        self.failures.append(f"match {match.match_id} ({match.strategy_a} vs {match.strategy_b}): {error}")

    def outcome(self, finished: int, total: int) -> tuple[str, str | None]:
        """The final (status, error) of this run, given its tournament's (finished, total) matches."""
        if finished == total:
            return "finished", None
        resume = f"`tournament resume {self.info.id}` plays them"
        if self.lease.cancel_requested:
            return "cancelled", f"cancelled after {finished} of {total} matches"
        if self.failures:
            count, unplayed = len(self.failures), total - finished - len(self.failures)
            later = f"; {_plural(unplayed, 'later match')} of the same pairs not played" if unplayed else ""
            return "failed", f"{_plural(count, 'match')} failed: {self.failures[0]}{later}; {resume}"
        return "failed", f"{total - finished} matches were not played; {resume}"


def _unwrap(error: BaseException) -> BaseException:
    """The one failure inside anyio's task-group exception groups (callers catch the real type)."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'es' if noun.endswith('match') and count != 1 else ''}"


def _chains(pending: Sequence[MatchInfo], *, independent: bool) -> list[list[MatchInfo]]:
    """Matches grouped into chains (one per pairing, in position order), chains by first position.

    `independent`: players are told no history, so every match is a chain of its own.
    """
    if independent:
        return [[match] for match in sorted(pending, key=lambda m: m.position)]
    chains = [
        list(chain)
        for _, chain in groupby(
            sorted(pending, key=lambda m: (m.version_a_id, m.version_b_id, m.position)),
            key=lambda m: (m.version_a_id, m.version_b_id),
        )
    ]
    chains.sort(key=lambda chain: chain[0].position)
    return chains


def _component_source(db: Database) -> ComponentSource:
    def component(digest: str) -> bytes:
        with db.sessions() as session:
            return strategy_repo.component_bytes(session, digest)

    return component


async def _prepare_participants(
    db: Database, info: TournamentInfo, runtime: SandboxRuntime
) -> dict[str, str]:
    """Compile (or load cached artifacts of) every participant once; returns rejected hashes -> reason.

    Cached artifacts load in well under a millisecond each, so they are checked right here; compiling takes
    up to seconds per component, so that goes to a thread, leaving the event loop free meanwhile.
    """
    allow_wasi = bool(info.config.get("allow_wasi", False))
    rejected: dict[str, str] = {}
    missing: list[str] = []
    for participant in info.participants:
        digest = participant.content_hash
        try:
            if runtime.prepare_cached(digest, allow_wasi=allow_wasi) is None:
                missing.append(digest)
        except BadComponentError as error:
            rejected[digest] = str(error)
    if missing:
        rejected.update(await anyio.to_thread.run_sync(_compile, db, missing, runtime, allow_wasi))
    return rejected


def _compile(
    db: Database, digests: Sequence[str], runtime: SandboxRuntime, allow_wasi: bool
) -> dict[str, str]:
    rejected: dict[str, str] = {}
    for digest in digests:
        try:
            with db.sessions() as session:
                data = strategy_repo.component_bytes(session, digest)
            runtime.prepare(data, digest, allow_wasi=allow_wasi)
        except BadComponentError as error:
            rejected[digest] = str(error)
    return rejected


def _all_compiled(info: TournamentInfo, limits: SandboxLimits, cache_dir: Path | None) -> bool:
    """Whether every participant's compiled artifact is in the disk cache, so that local worker processes
    can load (and check) them themselves and this process needs no sandbox runtime of its own."""
    fingerprint = EngineSettings(stack_bytes=limits.stack_bytes).fingerprint
    directory = cache_dir or default_cache_dir()  # once, not per participant
    return all(artifact_path(directory, fingerprint, p.content_hash).exists() for p in info.participants)


class _JobPlanner:
    """Turns a planned match into a self-contained job, reading the players' history from the database."""

    def __init__(
        self,
        db: Database,
        info: TournamentInfo,
        limits: SandboxLimits,
        rejected: dict[str, str],
        cache_dir: Path | None,
        *,
        record_in_workers: bool = False,
    ) -> None:
        self.db, self.info, self.limits, self.rejected, self.cache_dir = db, info, limits, rejected, cache_dir
        self.record_in_workers = record_in_workers
        self._versions = {p.version_id: p for p in info.participants}
        self._opponent_ids = {p.version_id: opponent_id(p.name) for p in info.participants}

    def job(self, match: MatchInfo) -> MatchJob:
        version_a, version_b = self._versions[match.version_a_id], self._versions[match.version_b_id]
        history = self._history(match)
        return MatchJob(
            match_id=match.match_id,
            game=self.info.game,
            rounds=self.info.rounds,
            seed=match.seed,
            noise=self.info.noise,
            hidden_rounds=bool(self.info.config.get("hidden_rounds", False)),
            limits=self.limits,
            a=Seat(
                strategy=version_a.name,
                digest=version_a.content_hash,
                seed=derive_seed(match.seed, "a"),
                opponent=self._opponent_ids[match.version_b_id],
                history=history,
                rejected=self.rejected.get(version_a.content_hash),
            ),
            b=Seat(
                strategy=version_b.name,
                digest=version_b.content_hash,
                seed=derive_seed(match.seed, "b"),
                opponent=self._opponent_ids[match.version_a_id],
                history=tuple(r.swapped() for r in history),
                rejected=self.rejected.get(version_b.content_hash),
            ),
            cache_dir=str(self.cache_dir) if self.cache_dir else None,
            allow_wasi=bool(self.info.config.get("allow_wasi", False)),
            record=RecordInWorker(self.db.url, match) if self.record_in_workers else None,
        )

    def _history(self, match: MatchInfo) -> tuple[RoundRecord, ...]:
        scope = HistoryScope(str(self.info.config.get("history", HistoryScope.TOURNAMENT)))
        if scope is HistoryScope.NONE or self.limits.history_cap == 0:
            return ()
        if scope is HistoryScope.TOURNAMENT and match.repetition == 0:
            return ()  # a pair's first meeting has none in this tournament: skip the query (issue 6)
        with self.db.sessions() as session:
            rounds = tournament_repo.meeting_history(
                session,
                strategy_a=match.strategy_a,
                strategy_b=match.strategy_b,
                game=self.info.game,
                before_match_id=match.match_id,
                within_tournament=self.info.id if scope is HistoryScope.TOURNAMENT else None,
                limit=self.limits.history_cap,
            )
        return tuple(rounds)


class _InlinePlayer:
    """Plays a job in this process in the workers' stead until they are worth starting and have started
    (`LocalProcessExecutor`'s `inline`), and replies as a worker would: recorded if the job says so.

    Its runtime is the run's own if it has one (it compiled components), else one made on the first
    job (a run whose workers outpace it never needs one); it belongs to the run and `close` closes it.
    """

    def __init__(
        self, db: Database, limits: SandboxLimits, cache_dir: Path | None, runtime: SandboxRuntime | None
    ) -> None:
        self.db, self.limits, self.cache_dir = db, limits, cache_dir
        self._runtime = runtime
        self._own: SandboxRuntime | None = None
        """The runtime made for playing here (not the run's: the run closes that one)."""

    def __call__(self, job: MatchJob) -> MatchPlayed:
        runtime = self._runtime or self._own
        if runtime is None:
            runtime = self._own = SandboxRuntime(self.limits.stack_bytes, self.cache_dir)
        played = execute(job, runtime)
        if isinstance(job.record, RecordInWorker):
            return job.record.in_coordinator(self.db, played)
        return played if job.record is None else job.record(played)

    def close(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            own.close()


INLINE_ROUNDS = 50_000
"""Batches of up to this many rounds are written on the event loop itself while worker processes play:
that takes milliseconds, less than handing the batch to a thread and back (each hop waits for the GIL
while the loop runs). Larger batches go to a thread, so that the workers keep getting their jobs."""


class _Recorder:
    """Records played matches as a task of its own, so that whatever results arrive while it writes are
    written together next, in one transaction.

    Results wait in a bounded queue (`capacity`): a full queue holds back the executor slot, so memory
    stays flat when recording is slower than playing. Whatever is queued when the writer runs is written
    in one transaction; each match's row flips from 'pending' to 'finished' inside it, so after a kill -9
    at any moment a match is either completely recorded or still pending (a resume plays it again, with
    identical rounds), never missing or counted twice. The progress callback runs on the event loop
    after the commit. Batches of up to `inline_rounds` rounds (None: any batch) are written on the event
    loop, larger ones in a thread (see `INLINE_ROUNDS`); an in-process run writes every batch on the loop,
    where it plays too (a writing thread would fight the player for the GIL on every move call).
    """

    def __init__(
        self, db: Database, on_match: ProgressCallback | None, *, capacity: int, inline_rounds: int | None
    ) -> None:
        self.db, self.on_match = db, on_match
        self._send, self._receive = anyio.create_memory_object_stream[_Played](capacity)
        self._inline_rounds = inline_rounds

    async def record(self, match: MatchInfo, played: MatchPlayed) -> anyio.Event:
        """Queue a played match; the returned event is set once it is committed."""
        recorded = anyio.Event()
        await self._send.send((match, played, recorded))
        return recorded

    def close(self) -> None:
        """No more matches: the writer ends after writing what is queued."""
        self._send.close()

    async def run(self) -> None:
        async with self._receive:
            async for first in self._receive:
                await anyio.lowlevel.checkpoint()  # tasks that are ready go first: results join this batch
                batch = [first]
                with contextlib.suppress(anyio.WouldBlock):
                    while True:
                        batch.append(self._receive.receive_nowait())
                limit = self._inline_rounds
                if limit is None or sum(played.score.rounds for _, played, _ in batch) <= limit:
                    self._write(batch)
                else:
                    await anyio.to_thread.run_sync(self._write, batch)
                for match, played, recorded in batch:
                    if self.on_match is not None:
                        self.on_match(match, played)
                    recorded.set()

    def _write(self, batch: Sequence[_Played]) -> None:
        with self.db.engine.begin() as connection:
            for match, played, _ in batch:
                record_played(connection, match, played)


_Played = tuple[MatchInfo, MatchPlayed, anyio.Event]


def tournament_standings(db: Database, tournament_id: int) -> list[Standing]:
    """Standings from the recorded matches (ranked by the game's rule)."""
    with db.sessions() as session:
        info = tournament_repo.get_tournament(session, tournament_id)
        summaries = [
            MatchSummary(strategy_a, strategy_b, score)
            for strategy_a, strategy_b, score in tournament_repo.match_summaries(session, tournament_id)
        ]
    return compute_standings(get_game(info.game), summaries, [p.name for p in info.participants])


def get_tournament(db: Database, tournament_id: int) -> TournamentInfo:
    with db.sessions() as session:
        return tournament_repo.get_tournament(session, tournament_id)
