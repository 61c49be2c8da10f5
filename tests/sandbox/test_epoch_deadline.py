"""The epoch deadline is re-armed only when the epoch has moved, and that changes no deadline.

A move function skips `wasmtime_context_set_epoch_deadline` while the ticker's sequence is the one it
read before it last armed the deadline (`EpochTicker`). These tests drive the epoch by hand, on an engine
of their own whose ticker never runs, so each check is exact: a call that skipped arming is interrupted
precisely when the epoch reaches the deadline armed before an earlier call (never sooner, never later),
calls between which the epoch moved far beyond the deadline never trap, and an increment that was in
progress while a deadline was armed forces the next call to arm again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from wasmtime.component import Component

from tests.sandbox.conftest import Build
from tournament.rules.forfeits import ForfeitReason
from tournament.sandbox.engine import EngineSettings, make_engine
from tournament.sandbox.fastcall import MoveTuple, NextMoveCall
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.player import PlayerSetup, WasmPlayer
from tournament.sandbox.watchdog import EpochTicker

LIMITS = SandboxLimits(fuel_per_move=10**15, setup_fuel=10**15, timeout_ms=30)
"""Fuel never runs out: only the epoch deadline can end a looping call."""
KEY = (1, 1, 3, 3)
LOOPS_FROM = 4
"""Round from which the component logs one line and then loops forever."""


class Rig:
    """A player on an engine whose epoch moves only when the test says so."""

    def __init__(self, data: bytes, *, fast: bool = True) -> None:
        self.engine = make_engine(EngineSettings(stack_bytes=LIMITS.stack_bytes))
        self.ticker = EpochTicker(self.engine)  # never started
        self.ticks = self.ticker.ticks_for(LIMITS.timeout_ms)
        setup = PlayerSetup("ipd", ("cooperate", "defect"), 100, 1, 2)
        self.player = WasmPlayer(
            self.engine, Component(self.engine, data), setup, LIMITS, self.ticker, fast=fast
        )
        assert self.player.start() is None

    def move(self) -> MoveTuple:
        return self.player.move(KEY)

    def loop_until_interrupted(self) -> tuple[MoveTuple, bool, int]:
        """Make the looping call while another thread advances the epoch one tick at a time.

        Returns the move's result, whether the call was still running after `ticks - 1` advances, and
        how many advances past `ticks` it took to end (0 when the deadline was exactly where it belongs).
        """
        done = threading.Event()
        observed: list[bool] = []
        extra = [0]
        logs = self.player.logs.lines

        def advance() -> None:
            while not logs:  # the guest logs once it is inside the call, past any arming
                time.sleep(0.001)
            for _ in range(self.ticks - 1):
                self.ticker.advance()
            time.sleep(0.05)
            observed.append(not done.is_set())
            self.ticker.advance()
            while not done.wait(1.0):  # only if the deadline was armed too late: end the call anyway
                extra[0] += 1
                self.ticker.advance()

        helper = threading.Thread(target=advance)
        helper.start()
        try:
            result = self.move()
        finally:
            done.set()
            helper.join()
        return result, observed == [True], extra[0]


@pytest.fixture
def looping(wat_component: Build) -> bytes:
    return wat_component(
        f"local.get $r i32.const {LOOPS_FROM} i32.ge_u"
        " (if (then i32.const 100 i32.const 4 call $log (loop $forever br $forever)))"
        " local.get $r i32.const 2 i32.rem_u",
        imports='(import "tournament:strategy/host@1.0.0" "log" (func $log (param i32 i32)))',
        extra='(data (i32.const 100) "loop")',
    )


@pytest.fixture
def rig(looping: bytes) -> Iterator[Rig]:
    made = Rig(looping)
    yield made
    made.player.close()


def test_a_call_that_skipped_arming_is_interrupted_exactly_at_the_earlier_deadline(rig: Rig) -> None:
    assert rig.move()[1] is None  # armed here, at the current epoch
    call = rig.player._call
    assert isinstance(call, NextMoveCall)
    armed = call._armed
    assert armed == rig.ticker.sequence
    for _ in range(LOOPS_FROM - 1):
        assert rig.move()[1] is None  # the epoch has not moved: nothing re-armed
    assert call._armed == armed
    result, running_one_tick_before, extra = rig.loop_until_interrupted()
    assert result[1] is ForfeitReason.TIMEOUT
    assert running_one_tick_before
    assert extra == 0


def test_the_deadline_moves_with_the_epoch_between_calls(rig: Rig) -> None:
    for _ in range(LOOPS_FROM):
        # The epoch moves further than the deadline between calls: each call must arm afresh.
        for _ in range(rig.ticks + 2):
            rig.ticker.advance()
        result = rig.move()
        assert result[1] is None, result
    result, running_one_tick_before, extra = rig.loop_until_interrupted()
    assert result[1] is ForfeitReason.TIMEOUT
    assert running_one_tick_before
    assert extra == 0


def test_an_increment_in_progress_while_arming_forces_the_next_call_to_arm(rig: Rig) -> None:
    for _ in range(LOOPS_FROM - 1):
        assert rig.move()[1] is None
    # What `EpochTicker.advance` does, stopped half-way: the sequence is odd while the epoch moves.
    rig.ticker.sequence += 1
    assert rig.move()[1] is None  # arms at the old epoch, and must not remember this sequence
    call = rig.player._call
    assert isinstance(call, NextMoveCall)
    assert call._armed == -1
    rig.engine.increment_epoch()
    rig.ticker.sequence += 1
    # The looping call re-arms at the new epoch, so its deadline is `ticks` from here, not one less.
    result, running_one_tick_before, extra = rig.loop_until_interrupted()
    assert result[1] is ForfeitReason.TIMEOUT
    assert running_one_tick_before
    assert extra == 0


def test_the_stock_call_arms_before_every_call_and_is_interrupted_alike(looping: bytes) -> None:
    rig = Rig(looping, fast=False)
    try:
        for _ in range(LOOPS_FROM):
            assert rig.move()[1] is None
        result, running_one_tick_before, extra = rig.loop_until_interrupted()
        assert result[1] is ForfeitReason.TIMEOUT
        assert running_one_tick_before
        assert extra == 0
    finally:
        rig.player.close()


def test_the_ticker_advances_the_epoch_inside_its_sequence_lock(looping: bytes) -> None:
    rig = Rig(looping)
    try:
        before = rig.ticker.sequence
        rig.ticker.advance()
        assert rig.ticker.sequence == before + 2
        rig.ticker.start()
        while rig.ticker.sequence < before + 6:
            time.sleep(0.005)
        rig.ticker.stop()
        assert rig.ticker.sequence % 2 == 0
    finally:
        rig.player.close()
