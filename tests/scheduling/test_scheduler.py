"""The scheduler on a controlled clock: due slots fire once, missed ones coalesce, runs snapshot versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.registry.conftest import Components
from tournament.persistence import Database, add_version, iter_export_rows
from tournament.persistence import schedules as schedule_repo
from tournament.persistence import strategies as strategy_repo
from tournament.services.scheduler import Scheduler
from tournament.services.schedules import (
    Template,
    add_schedule,
    get_schedule,
    list_schedules,
    pause_schedule,
    remove_schedule,
    resume_schedule,
)
from tournament.services.tournaments import TournamentRequest, create_tournament, get_tournament

from .conftest import START, Clock, LogLines, scheduled

SMALL = Template(game="rps", rounds=5, strategies=("constant", "rotate"), workers=1)


def at(hour: int, minute: int) -> datetime:
    return START.replace(hour=hour, minute=minute)


def test_fires_exactly_the_due_slots_and_coalesces_missed_ones(
    registry: Database, clock: Clock, log: LogLines
) -> None:
    add_schedule(registry, "every-ten", cron="*/10 * * * *", timezone="UTC", template=SMALL, now=clock())
    scheduler = Scheduler(registry, log, clock=clock)

    assert scheduler.tick() == []  # 00:03: nothing due (the first slot is 00:10)
    clock.now = at(0, 9)
    assert scheduler.tick() == []
    clock.now = at(0, 10)
    first = scheduler.tick()
    assert len(first) == 1
    clock.now = at(0, 10).replace(second=30)
    assert scheduler.tick() == []  # the same slot never fires twice
    clock.now = at(1, 7)  # down from 00:11 to 01:07: slots 00:20 ... 01:00 were missed
    second = scheduler.tick()
    assert len(second) == 1
    assert scheduler.wait_for_runs(60) == []

    assert [(slot, status) for _, _, slot, status in scheduled(registry)] == [
        (at(0, 10), "finished"), (at(0, 20), "finished")
    ]  # fmt: skip
    assert get_schedule(registry, "every-ten").next_run_at == at(1, 10)
    assert len(log.starting("fired every-ten")) == 2
    assert "coalesced" in log.starting("fired every-ten slot 2026-03-02 00:20")[0]
    assert len(log.starting("finished tournament")) == 2
    assert scheduler.failures == 0


def test_the_loop_polls_on_the_injected_clock_until_stopped(
    registry: Database, clock: Clock, log: LogLines
) -> None:
    add_schedule(registry, "hourly", cron="0 * * * *", timezone="UTC", template=SMALL, now=clock())
    scheduler = Scheduler(registry, log, clock=clock)
    end = at(3, 30)

    def wait(seconds: float) -> None:
        scheduler.wait_for_runs(60)
        clock.sleep(seconds)
        if clock.now >= end:
            scheduler.stop()

    scheduler.wait = wait
    scheduler.serve(poll=600)
    scheduler.wait_for_runs(60)
    assert [slot for _, _, slot, _ in scheduled(registry)] == [at(1, 0), at(2, 0), at(3, 0)]


def test_seeds_derive_from_the_slot_unless_fixed(registry: Database, clock: Clock, log: LogLines) -> None:
    add_schedule(registry, "dated", cron="0 * * * *", timezone="UTC", template=SMALL, now=clock())
    fixed = Template(game="rps", rounds=5, strategies=("constant", "rotate"), seed=42, workers=1)
    add_schedule(registry, "fixed", cron="0 * * * *", timezone="UTC", template=fixed, now=clock())
    scheduler = Scheduler(registry, log, clock=clock)
    for hour in (1, 2):
        clock.now = at(hour, 0)
        scheduler.tick()
    scheduler.wait_for_runs(60)
    seeds: dict[int | None, list[int]] = {}
    for tournament_id, schedule_id, _, _ in scheduled(registry):
        seeds.setdefault(schedule_id, []).append(get_tournament(registry, tournament_id).seed)
    dated, fixed_seeds = seeds[get_schedule(registry, "dated").id], seeds[get_schedule(registry, "fixed").id]
    assert fixed_seeds == [42, 42]
    assert dated[0] != dated[1]
    assert dated[0] == SMALL.seed_for("dated", at(1, 0))


def _moves_of(db: Database, tournament_id: int, name: str) -> set[int | None]:
    with db.sessions() as session:
        rows = list(iter_export_rows(session, tournament_id))
    return {row.move_a if row.player_a == name else row.move_b for row in rows}


def _store(db: Database, data: bytes, version: str) -> None:
    with db.sessions.begin() as session:
        add_version(
            session, name="evolver", data=data, version=version, language="wat", games=("rps",),
            description="changes its move between versions", deterministic=True,
        )  # fmt: skip


def test_a_scheduled_run_keeps_its_versions_and_the_next_run_picks_up_new_ones(
    registry: Database, components: Components, clock: Clock, log: LogLines
) -> None:
    _store(registry, components["paper"], "1.0.0")
    template = Template(game="rps", rounds=10, strategies=("evolver", "constant"), workers=1)
    add_schedule(registry, "ladder", cron="0 * * * *", timezone="UTC", template=template, now=clock())
    scheduler = Scheduler(registry, log, clock=clock)
    clock.now = at(1, 0)
    [earlier] = scheduler.tick()
    _store(registry, components["scissors"], "1.0.1")  # submitted while the first run is under way
    scheduler.wait_for_runs(60)
    clock.now = at(2, 0)
    [later] = scheduler.tick()
    scheduler.wait_for_runs(60)

    assert _moves_of(registry, earlier, "evolver") == {1}  # paper: version 1.0.0
    assert _moves_of(registry, later, "evolver") == {2}  # scissors: version 1.0.1
    versions = {p.name: p.version for p in get_tournament(registry, earlier).participants}
    assert versions["evolver"] == "1.0.0"


def test_tags_select_the_field_when_each_run_starts(
    registry: Database, components: Components, clock: Clock, log: LogLines
) -> None:
    _store(registry, components["paper"], "1.0.0")
    with registry.sessions.begin() as session:
        strategy_repo.add_tags(session, "constant", ["ladder"])
        strategy_repo.add_tags(session, "rotate", ["ladder", "weekly"])
    template = Template(game="rps", rounds=5, tags=("ladder",), workers=1)
    add_schedule(registry, "tagged", cron="0 * * * *", timezone="UTC", template=template, now=clock())
    scheduler = Scheduler(registry, log, clock=clock)
    clock.now = at(1, 0)
    [first] = scheduler.tick()
    with registry.sessions.begin() as session:
        strategy_repo.add_tags(session, "evolver", ["ladder"])
    clock.now = at(2, 0)
    [second] = scheduler.tick()
    scheduler.wait_for_runs(60)
    names = [sorted(p.name for p in get_tournament(registry, t).participants) for t in (first, second)]
    assert names == [["constant", "rotate"], ["constant", "evolver", "rotate"]]


def test_pause_resume_and_remove(registry: Database, clock: Clock, log: LogLines) -> None:
    add_schedule(registry, "hourly", cron="0 * * * *", timezone="UTC", template=SMALL, now=clock())
    scheduler = Scheduler(registry, log, clock=clock)
    pause_schedule(registry, "hourly")
    clock.now = at(5, 30)
    assert scheduler.tick() == []  # paused: slots 01:00 ... 05:00 do not fire
    resumed = resume_schedule(registry, "hourly", clock())
    assert resumed.next_run_at == at(6, 0)  # from now on, no burst of the missed slots
    assert scheduler.tick() == []
    clock.now = at(6, 0)
    [tournament_id] = scheduler.tick()
    scheduler.wait_for_runs(60)

    remove_schedule(registry, "hourly")
    assert list_schedules(registry) == []
    assert [(t, s) for t, s, _, _ in scheduled(registry)] == [(tournament_id, None)]
    assert get_tournament(registry, tournament_id).status == "finished"
    clock.now = at(7, 0)
    assert scheduler.tick() == []


def test_a_slot_that_cannot_start_is_skipped_and_logged(
    registry: Database, clock: Clock, log: LogLines
) -> None:
    add_schedule(registry, "hourly", cron="0 * * * *", timezone="UTC", template=SMALL, now=clock())
    with registry.sessions.begin() as session:
        [rotate] = [v for v in strategy_repo.strategy_versions(session, "rotate")]
        strategy_repo.set_version_status(session, rotate.version_id, "retired")
    scheduler = Scheduler(registry, log, clock=clock)
    clock.now = at(1, 0)
    assert scheduler.tick() == []
    assert log.starting("skipped hourly slot 2026-03-02 01:00:00Z: unknown strategy 'rotate'")
    assert get_schedule(registry, "hourly").next_run_at == at(2, 0)


def test_interrupted_and_never_started_runs_are_picked_up(
    registry: Database, clock: Clock, log: LogLines
) -> None:
    waiting = create_tournament(
        registry, TournamentRequest(game="rps", rounds=5, seed=1, strategies=["constant", "rotate"])
    )
    clock.now = datetime.now(UTC)
    scheduler = Scheduler(registry, log, clock=clock)
    assert scheduler.tick() == []  # just created: its creator is presumably about to start it
    clock.advance(minutes=3)
    assert scheduler.tick() == [waiting]  # abandoned
    scheduler.wait_for_runs(60)
    assert get_tournament(registry, waiting).status == "finished"
    assert log.starting(f"resuming tournament {waiting}")
    assert log.starting(f"finished tournament {waiting}: finished")
    clock.now += timedelta(minutes=5)
    assert scheduler.tick() == []  # nothing left to resume


def test_a_nightly_run_in_paris_stays_nightly_across_the_spring_shift(
    registry: Database, log: LogLines
) -> None:
    clock = Clock(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    add_schedule(registry, "nightly", cron="30 2 * * *", timezone="Europe/Paris", template=SMALL, now=clock())
    scheduler = Scheduler(registry, log, clock=clock)
    for _ in range(3 * 24):
        clock.advance(hours=1)
        scheduler.tick()
    scheduler.wait_for_runs(60)
    assert [slot for _, _, slot, _ in scheduled(registry)] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:30 does not exist that night: at 03:00 CEST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
    ]


def _die_after_claiming(db: Database, name: str, slot: datetime) -> None:
    """What a scheduler killed between claiming a slot and creating its tournament leaves behind."""
    schedule = get_schedule(db, name)
    with db.sessions.begin() as session:
        assert schedule_repo.claim_slot(session, schedule.id, slot, slot + timedelta(hours=1))


def test_a_slot_claimed_by_a_scheduler_that_died_runs_when_the_next_one_starts(
    registry: Database, clock: Clock, log: LogLines
) -> None:
    add_schedule(registry, "hourly", cron="0 * * * *", timezone="UTC", template=SMALL, now=clock())
    _die_after_claiming(registry, "hourly", at(1, 0))
    clock.now = at(1, 5)
    scheduler = Scheduler(registry, log, clock=clock)
    assert len(scheduler.tick()) == 1
    scheduler.wait_for_runs(60)
    assert Scheduler(registry, log, clock=clock).tick() == []  # it has its run now
    assert [(slot, status) for *_, slot, status in scheduled(registry)] == [(at(1, 0), "finished")]
    assert log.starting("fired hourly slot 2026-03-02 01:00:00Z: tournament 1 (claimed, never created)")


def test_a_lost_claim_is_superseded_by_a_later_due_slot(
    registry: Database, clock: Clock, log: LogLines
) -> None:
    add_schedule(registry, "hourly", cron="0 * * * *", timezone="UTC", template=SMALL, now=clock())
    _die_after_claiming(registry, "hourly", at(1, 0))
    clock.now = at(3, 30)  # down until 03:30: the slots 02:00 and 03:00 were missed too
    scheduler = Scheduler(registry, log, clock=clock)
    assert len(scheduler.tick()) == 1
    scheduler.wait_for_runs(60)
    assert [slot for *_, slot, _ in scheduled(registry)] == [at(2, 0)]
