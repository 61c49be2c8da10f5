"""What crosses a worker's pipes pickles to equal objects, through `by_fields` rather than the default."""

from __future__ import annotations

import dataclasses
import pickle
from typing import cast

import pytest

from tournament.orchestration.jobs import MatchJob, Seat
from tournament.orchestration.match import MatchPlayed
from tournament.persistence.tournaments import MatchInfo
from tournament.picklable import by_fields
from tournament.rules.records import RoundRecord
from tournament.rules.scoring import MatchOutcome, MatchScore
from tournament.sandbox.limits import SandboxLimits
from tournament.services.recording import RecordInWorker


def _job() -> MatchJob:
    info = MatchInfo(7, 1, 3, 2, 11, 12, "tit-for-tat", "grudger", 2**62 + 5, "pending")
    history = (RoundRecord(0, 1, 0, 0, 5), RoundRecord(1, None, 1, -1, 1, noise_b=True))
    return MatchJob(
        match_id=7,
        game="ipd",
        rounds=200,
        seed=2**63 - 1,
        noise=0.05,
        hidden_rounds=True,
        limits=SandboxLimits(fuel_per_move=1234, history_cap=9),
        a=Seat("tit-for-tat", "a" * 64, 1, 2, history=history),
        b=Seat("grudger", "b" * 64, 3, 4, rejected="no export"),
        cache_dir="/tmp/cache",
        allow_wasi=True,
        record=RecordInWorker("sqlite:////tmp/x.db", info),
    )


def test_a_job_and_a_reply_round_trip() -> None:
    job = _job()
    assert pickle.loads(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)) == job
    score = MatchScore(200, 300, 250, 50, 40, 110, 0, 3, MatchOutcome.A_WINS)
    played = MatchPlayed(
        _job().a.history, score, first_forfeit_a=None, first_forfeit_b=None, logs=(("a", 3, "hi"),)
    )
    assert pickle.loads(pickle.dumps(played)) == played


def test_the_default_field_by_field_state_is_not_used() -> None:
    values: tuple[object, ...] = (_job(), _job().a, _job().limits, _job().record)
    for value in values:
        reducer, args = cast(tuple[object, tuple[object, ...]], value.__reduce__())
        assert reducer is type(value)
        assert args == tuple(getattr(value, f.name) for f in dataclasses.fields(value))  # type: ignore[arg-type]


def test_a_field_outside_init_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Derived:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    with pytest.raises(TypeError, match="Derived: by_fields needs"):
        by_fields(Derived)
