"""Behaviour of every built-in strategy, played through the engine (real components, real wasmtime).

Strategies are built from source first (``strategies/build.py``, incremental). Every match is seeded, so
each assertion is deterministic; margins are still wide so that they state the strategy's behaviour rather
than one lucky transcript.
"""

from __future__ import annotations

import collections
import importlib.util
import itertools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pytest

from tournament.orchestration.local import play_local_match
from tournament.rules.records import RoundRecord
from tournament.sandbox.runtime import SandboxRuntime

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "strategies" / "build"
BUILD_SCRIPT = ROOT / "strategies" / "build.py"
N_MOVES = {"rps": 3, "rpsls": 5, "ipd": 2}
C, D = 0, 1


def _load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("strategies_build", BUILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


# The strategies and their games, read from the sources' metadata headers (no build needed to collect).
SOURCES: dict[str, tuple[str, ...]] = {s.name: s.games for s in _load_build_script().discover()}
PLAYS = [pytest.param(name, game, id=f"{name}-{game}") for name, games in SOURCES.items() for game in games]
RPS_FAMILY = sorted(name for name, games in SOURCES.items() if "rps" in games)
IPD_PLAYERS = sorted(name for name, games in SOURCES.items() if "ipd" in games)
SEEDED = [
    "uniform-random",
    "biased-random",
    "always-switch",
    "flat",
    "anti-flat",
    "de-bruijn",
    "rfind",
    "iocaine-powder",
    "bandit",
]
"""Strategies that draw random numbers from their seed against a deterministic opponent."""
SEED_FREE = ["constant", "rotate", "beat-last", "beat-frequent", *IPD_PLAYERS]


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    """Build the strategies (a no-op when nothing changed) so the tests run against current sources."""
    done = subprocess.run([sys.executable, str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"strategies/build.py failed:\n{done.stderr}")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxRuntime]:
    """One engine and artifact cache for the module: the Python strategy compiles once (about 10 s)."""
    with SandboxRuntime(cache_dir=tmp_path_factory.mktemp("artifacts")) as shared:
        yield shared


Play = Callable[..., list[RoundRecord]]


@pytest.fixture
def play(runtime: SandboxRuntime) -> Play:
    """Play a match between two built-ins by name; returns the rounds from A's side."""

    def run(a: str, b: str, *, game: str = "rps", rounds: int = 1000, seed: int = 0) -> list[RoundRecord]:
        result = play_local_match(
            BUILD / f"{a}.wasm", BUILD / f"{b}.wasm", game=game, rounds=rounds, seed=seed, runtime=runtime
        )
        assert len(result.rounds) == rounds
        return list(result.rounds)

    return run


def moves_a(rounds: Sequence[RoundRecord]) -> list[int | None]:
    return [r.move_a for r in rounds]


def total_a(rounds: Sequence[RoundRecord]) -> int:
    return sum(r.payoff_a for r in rounds)


def wins_a(rounds: Sequence[RoundRecord]) -> int:
    return sum(r.payoff_a > r.payoff_b for r in rounds)


# ---- the build ------------------------------------------------------------------------------------------


def test_manifest_describes_every_strategy() -> None:
    manifest = json.loads((BUILD / "manifest.json").read_text())
    assert manifest["wit"] == "1.0.0"
    entries = manifest["strategies"]
    assert [e["name"] for e in entries] == sorted(SOURCES)
    for entry in entries:
        assert tuple(entry["games"]) == SOURCES[entry["name"]]
        assert entry["language"] == ("python" if entry["name"] == "beat-frequent" else "c")
        assert entry["deterministic"] is True
        assert entry["description"]
        assert entry["version"] == "1.0.0"
        assert (BUILD / entry["file"]).is_file()
        assert (ROOT / "strategies" / entry["source"]).is_file()


# ---- conformance: every strategy, every game it supports ------------------------------------------------


@pytest.mark.parametrize(("name", "game"), PLAYS)
def test_plays_only_legal_moves_and_never_forfeits(play: Play, name: str, game: str) -> None:
    opponents = ["rotate", "uniform-random", name] if game != "ipd" else ["tit-for-tat", "alternator", name]
    for opponent in opponents:
        for r in play(name, opponent, game=game, rounds=300, seed=11):
            assert r.forfeit_a is None, (opponent, r)
            assert r.move_a is not None, (opponent, r)
            assert 0 <= r.move_a < N_MOVES[game], (opponent, r)


@pytest.mark.parametrize(("name", "game"), PLAYS)
def test_same_seed_same_transcript(play: Play, name: str, game: str) -> None:
    opponent = "uniform-random" if game != "ipd" else "alternator"
    first = play(name, opponent, game=game, rounds=200, seed=5)
    again = play(name, opponent, game=game, rounds=200, seed=5)
    assert [(r.move_a, r.move_b) for r in first] == [(r.move_a, r.move_b) for r in again]


@pytest.mark.parametrize("name", SEEDED)
def test_different_seeds_change_a_random_strategy(play: Play, name: str) -> None:
    first, second = (moves_a(play(name, "rotate", rounds=200, seed=seed)) for seed in (1, 2))
    assert first != second


@pytest.mark.parametrize("name", SEED_FREE)
def test_seed_free_strategies_ignore_the_seed(play: Play, name: str) -> None:
    game, opponent = ("ipd", "alternator") if name in IPD_PLAYERS else ("rps", "rotate")
    first = play(name, opponent, game=game, rounds=60, seed=1)
    assert moves_a(first) == moves_a(play(name, opponent, game=game, rounds=60, seed=2))


# ---- rock-paper-scissors family: scripts against scripted opponents -------------------------------------


@pytest.mark.parametrize("game", ["rps", "rpsls"])
def test_rotate_cycles_through_the_moves(play: Play, game: str) -> None:
    n = N_MOVES[game]
    assert moves_a(play("rotate", "constant", game=game, rounds=50)) == [t % n for t in range(50)]


@pytest.mark.parametrize("game", ["rps", "rpsls"])
def test_constant_always_plays_the_first_move(play: Play, game: str) -> None:
    assert set(moves_a(play("constant", "rotate", game=game, rounds=100))) == {0}


def test_beat_last_beats_constant(play: Play) -> None:
    rounds = play("beat-last", "constant")
    assert wins_a(rounds) >= 990
    assert moves_a(rounds) == [1] * 1000


@pytest.mark.parametrize("game", ["rps", "rpsls"])
def test_beat_last_plays_what_beats_the_previous_move(play: Play, game: str) -> None:
    n = N_MOVES[game]
    rounds = play("beat-last", "rotate", game=game, rounds=60)
    # Paper before the opponent has moved (as copybot), then (previous + 1) % n against t - 1 % n.
    assert moves_a(rounds) == [1] + [t % n for t in range(1, 60)]


def test_beat_frequent_beats_the_most_frequent_move(play: Play) -> None:
    # Nothing counted yet: the tie goes to the last move (scissors), so it opens with rock.
    assert moves_a(play("beat-frequent", "constant", rounds=50)) == [0] + [1] * 49
    # Against 20/20/60 it settles on rock, which beats the frequent scissors.
    rounds = play("beat-frequent", "biased-random", rounds=500, seed=3)
    assert moves_a(rounds)[100:].count(0) >= 390
    assert total_a(rounds) > 100


@pytest.mark.parametrize("game", ["rps", "rpsls"])
def test_always_switch_never_repeats_itself(play: Play, game: str) -> None:
    moves = moves_a(play("always-switch", "constant", game=game, rounds=600, seed=4))
    assert all(a != b for a, b in itertools.pairwise(moves))
    assert set(moves) == set(range(N_MOVES[game]))


def test_uniform_random_is_uniform(play: Play) -> None:
    counts = collections.Counter(moves_a(play("uniform-random", "constant", rounds=3000, seed=8)))
    assert all(900 <= counts[m] <= 1100 for m in range(3)), counts


@pytest.mark.parametrize(("game", "shares"), [("rps", (0.2, 0.2, 0.6)), ("rpsls", (0.1, 0.1, 0.1, 0.1, 0.6))])
def test_biased_random_follows_its_bias(play: Play, game: str, shares: tuple[float, ...]) -> None:
    counts = collections.Counter(moves_a(play("biased-random", "constant", game=game, rounds=3000, seed=8)))
    for move, share in enumerate(shares):
        assert abs(counts[move] / 3000 - share) < 0.03, counts


@pytest.mark.parametrize("game", ["rps", "rpsls"])
def test_flat_keeps_its_own_counts_flat(play: Play, game: str) -> None:
    moves = moves_a(play("flat", "constant", game=game, rounds=1000, seed=9))
    for end in range(50, 1001, 50):
        counts = collections.Counter(moves[:end])
        spread = max(counts.values()) - min(counts[m] for m in range(N_MOVES[game]))
        assert spread <= 6, (end, counts)


def test_anti_flat_exploits_rotate_and_flat(play: Play) -> None:
    rounds = play("anti-flat", "rotate", rounds=300)
    moves = moves_a(rounds)
    # Rotate's least-used moves after t rounds: {paper, scissors} when t % 3 == 1 -> scissors; {scissors}
    # when t % 3 == 2 -> rock; all equal when t % 3 == 0 -> random.
    assert all(moves[t] == 2 for t in range(1, 300, 3))
    assert all(moves[t] == 0 for t in range(2, 300, 3))
    assert total_a(rounds) >= 150
    assert total_a(play("anti-flat", "flat", rounds=1000, seed=2)) > 200


@pytest.mark.parametrize(("game", "period", "k"), [("rps", 729, 6), ("rpsls", 625, 4)])
def test_de_bruijn_repeats_a_de_bruijn_sequence(play: Play, game: str, period: int, k: int) -> None:
    moves = moves_a(play("de-bruijn", "constant", game=game, rounds=period + 200, seed=6))
    assert moves[period:] == moves[:200]
    cycle = moves[:period] + moves[: k - 1]
    windows = collections.Counter(tuple(cycle[i : i + k]) for i in range(period))
    assert len(windows) == period  # every k-move pattern exactly once per cycle
    assert max(collections.Counter(moves[:period]).values()) == period // N_MOVES[game]


@pytest.mark.parametrize("opponent", ["rotate", "constant", "beat-last"])
def test_rfind_learns_deterministic_opponents(play: Play, opponent: str) -> None:
    assert total_a(play("rfind", opponent)) >= 950


# ---- the strong ones ------------------------------------------------------------------------------------


@pytest.mark.parametrize("opponent", ["rotate", "beat-last", "beat-frequent", "rfind"])
@pytest.mark.parametrize("game", ["rps", "rpsls"])
def test_iocaine_powder_crushes_predictable_opponents(play: Play, opponent: str, game: str) -> None:
    assert total_a(play("iocaine-powder", opponent, game=game, seed=3)) >= 500


@pytest.mark.parametrize("opponent", ["biased-random", "de-bruijn", "always-switch"])
def test_iocaine_powder_beats_weakly_biased_opponents(play: Play, opponent: str) -> None:
    assert total_a(play("iocaine-powder", opponent, seed=3)) >= 150


def test_iocaine_powder_logs_its_choice_once(runtime: SandboxRuntime) -> None:
    result = play_local_match(
        BUILD / "iocaine-powder.wasm", BUILD / "rotate.wasm", rounds=300, runtime=runtime
    )
    assert [(side, index) for side, index, _ in result.logs] == [("a", 100)]
    assert result.logs[0][2].startswith("round 100: following horizon ")


@pytest.mark.parametrize("opponent", ["beat-last", "rotate", "constant", "beat-frequent"])
def test_bandit_beats_simple_predictors(play: Play, opponent: str) -> None:
    assert total_a(play("bandit", opponent, seed=4)) >= 500


def test_bandit_and_iocaine_hold_their_own_against_random(play: Play) -> None:
    for name in ("bandit", "iocaine-powder"):
        assert abs(total_a(play(name, "uniform-random", seed=12))) <= 101  # within the 1000-round draw band


# ---- iterated prisoner's dilemma (Axelrod library definitions, R=3 S=0 T=5 P=1) -------------------------

# Totals over 200 rounds, worked out by hand from the definitions (see each case).
IPD_TOTALS = [
    # C/D once (0/5), then D/D 199 times.
    ("tit-for-tat", "defector", 199, 204),
    ("cooperator", "defector", 0, 1000),
    ("cooperator", "cooperator", 600, 600),
    ("defector", "defector", 200, 200),
    # C/C, C/D, then D against alternating C (5/0) and D (1/1): 3 + 0 + 99*5 + 99 = 597; 3 + 5 + 99 = 107.
    ("grudger", "alternator", 597, 107),
    ("grudger", "defector", 199, 204),
    # C/D (0/5), D/D (1/1), repeat: 100 * 0 + 100 * 1 = 100; 100 * 5 + 100 * 1 = 600.
    ("win-stay-lose-shift", "defector", 100, 600),
    ("win-stay-lose-shift", "cooperator", 600, 600),
    # Alternator never defects twice in a row: C/C (3/3) and C/D (0/5) alternate.
    ("tit-for-two-tats", "alternator", 300, 800),
    # D/C, C/D, D/C, ... (5/0, 0/5): 100 * 5 each.
    ("suspicious-tit-for-tat", "tit-for-tat", 500, 500),
    ("suspicious-tit-for-tat", "cooperator", 602, 597),
    # C/C (3/3) and D/D (1/1) alternate.
    ("alternator", "alternator", 400, 400),
    ("tit-for-tat", "alternator", 498, 503),
    ("tit-for-two-tats", "defector", 198, 208),
]


@pytest.mark.parametrize(("a", "b", "expected_a", "expected_b"), IPD_TOTALS)
def test_ipd_totals(play: Play, a: str, b: str, expected_a: int, expected_b: int) -> None:
    rounds = play(a, b, game="ipd", rounds=200)
    assert (sum(r.payoff_a for r in rounds), sum(r.payoff_b for r in rounds)) == (expected_a, expected_b)


def _alternating(first: int, length: int) -> list[int]:
    return [(first + t) % 2 for t in range(length)]


IPD_SCRIPTS = [
    ("cooperator", "defector", [C] * 12),
    ("defector", "cooperator", [D] * 12),
    ("tit-for-tat", "alternator", [C, C, D, C, D, C, D, C, D, C, D, C]),
    ("tit-for-tat", "defector", [C] + [D] * 11),
    ("suspicious-tit-for-tat", "cooperator", [D] + [C] * 11),
    ("suspicious-tit-for-tat", "alternator", [D, C, D, C, D, C, D, C, D, C, D, C]),
    ("tit-for-two-tats", "defector", [C, C] + [D] * 10),
    ("tit-for-two-tats", "alternator", [C] * 12),
    ("grudger", "alternator", [C, C] + [D] * 10),
    ("grudger", "cooperator", [C] * 12),
    ("win-stay-lose-shift", "defector", _alternating(C, 12)),
    ("win-stay-lose-shift", "alternator", [C, C, D, D, C, C, D, D, C, C, D, D]),
    ("alternator", "defector", _alternating(C, 12)),
]


@pytest.mark.parametrize(("a", "b", "expected"), IPD_SCRIPTS, ids=[f"{a}-vs-{b}" for a, b, _ in IPD_SCRIPTS])
def test_ipd_scripts(play: Play, a: str, b: str, expected: list[int]) -> None:
    assert moves_a(play(a, b, game="ipd", rounds=len(expected))) == expected
