"""Game definitions: one conformance suite over every built-in game, plus RPS/RPSLS properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tournament.rules import (
    IPD,
    RPS,
    RPSLS,
    Game,
    GameDefinitionError,
    IllegalMoveError,
    Ranking,
    RulesError,
    UnknownGameError,
    builtin_games,
    get_game,
    symmetric_game,
)

GAMES = list(builtin_games().values())
ZERO_SUM = [RPS, RPSLS]


# --- conformance over every built-in game ---------------------------------------------------------------


@pytest.mark.parametrize("game", GAMES, ids=lambda g: g.name)
class TestConformance:
    def test_registered_under_its_name(self, game: Game) -> None:
        assert get_game(game.name) is game

    def test_table_shape(self, game: Game) -> None:
        assert game.n_moves == len(game.moves) >= 2
        assert len(set(game.moves)) == game.n_moves
        assert len(game.payoffs) == game.n_moves
        for row in game.payoffs:
            assert len(row) == game.n_moves
            for cell in row:
                assert len(cell) == 2
                assert all(type(x) is int for x in cell)

    def test_legal_moves(self, game: Game) -> None:
        for move in range(game.n_moves):
            assert game.is_legal(move)
            assert game.label(move) == game.moves[move]

    @pytest.mark.parametrize("bad", [-1, 99, True, 1.0, "0", None])
    def test_illegal_moves(self, game: Game, bad: object) -> None:
        assert not game.is_legal(bad)  # type: ignore[arg-type]
        with pytest.raises(IllegalMoveError):
            game.payoff(bad, 0)  # type: ignore[arg-type]
        with pytest.raises(IllegalMoveError):
            game.payoff(0, bad)  # type: ignore[arg-type]
        with pytest.raises(IllegalMoveError):
            game.label(bad)  # type: ignore[arg-type]

    def test_out_of_range_is_rejected_not_wrapped(self, game: Game) -> None:
        with pytest.raises(
            IllegalMoveError, match=rf"illegal move {game.n_moves}\b.*0\.\.{game.n_moves - 1}"
        ):
            game.payoff(0, game.n_moves)

    def test_payoff_lookups(self, game: Game) -> None:
        for a in range(game.n_moves):
            for b in range(game.n_moves):
                assert game.payoff(a, b) == game.payoffs[a][b]

    def test_forfeit_payoffs_are_table_extremes(self, game: Game) -> None:
        values = [x for row in game.payoffs for cell in row for x in cell]
        assert game.forfeit_payoffs == (min(values), max(values))

    def test_draw_margin(self, game: Game) -> None:
        assert game.draw_margin(0) == 0.0
        assert game.draw_margin(1000) >= 0.0
        with pytest.raises(ValueError, match="rounds"):
            game.draw_margin(-1)

    def test_is_symmetric(self, game: Game) -> None:
        # All built-ins are symmetric: swapping the players swaps the payoffs.
        for a in range(game.n_moves):
            for b in range(game.n_moves):
                pa, pb = game.payoff(a, b)
                assert game.payoff(b, a) == (pb, pa)


# --- RPS and RPSLS properties ------------------------------------------------------------------------------


def beats(game: Game, a: int, b: int) -> bool:
    return game.payoff(a, b)[0] > game.payoff(a, b)[1]


@pytest.mark.parametrize("game", ZERO_SUM, ids=lambda g: g.name)
@given(data=st.data())
def test_antisymmetric_and_zero_sum(game: Game, data: st.DataObject) -> None:
    a = data.draw(st.integers(0, game.n_moves - 1))
    b = data.draw(st.integers(0, game.n_moves - 1))
    x, y = game.payoff(a, b)
    assert y == -x
    assert game.payoff(b, a) == (-x, x)
    assert x in (-1, 0, 1)
    assert (x == 0) == (a == b)


@pytest.mark.parametrize("game", ZERO_SUM, ids=lambda g: g.name)
def test_every_move_beats_and_loses_to_equally_many(game: Game) -> None:
    n = game.n_moves
    for m in range(n):
        wins = sum(beats(game, m, o) for o in range(n))
        losses = sum(beats(game, o, m) for o in range(n))
        assert wins == losses == (n - 1) // 2


@pytest.mark.parametrize("game", ZERO_SUM, ids=lambda g: g.name)
def test_next_move_beats_previous(game: Game) -> None:
    for m in range(game.n_moves):
        assert beats(game, (m + 1) % game.n_moves, m)


def test_rps_table() -> None:
    assert RPS.moves == ("rock", "paper", "scissors")
    assert RPS.payoff(1, 0) == (1, -1)  # paper covers rock
    assert RPS.payoff(2, 1) == (1, -1)  # scissors cuts paper
    assert RPS.payoff(0, 2) == (1, -1)  # rock crushes scissors
    assert RPS.ranking is Ranking.MATCH_POINTS
    assert RPS.forfeit_payoffs == (-1, 1)


def test_rpsls_matches_the_real_rules() -> None:
    assert RPSLS.moves == ("rock", "paper", "scissors", "spock", "lizard")
    index = {label: i for i, label in enumerate(RPSLS.moves)}
    real_rules = [
        ("paper", "rock"),  # covers
        ("scissors", "paper"),  # cuts
        ("rock", "scissors"),  # crushes
        ("rock", "lizard"),  # crushes
        ("lizard", "spock"),  # poisons
        ("spock", "scissors"),  # smashes
        ("scissors", "lizard"),  # decapitates
        ("lizard", "paper"),  # eats
        ("paper", "spock"),  # disproves
        ("spock", "rock"),  # vaporizes
    ]
    winning = {(index[winner], index[loser]) for winner, loser in real_rules}
    n = RPSLS.n_moves
    table_wins = {(a, b) for a in range(n) for b in range(n) if beats(RPSLS, a, b)}
    assert table_wins == winning
    assert all(((a - b) % 5) % 2 == 1 for a, b in winning)
    assert RPSLS.ranking is Ranking.MATCH_POINTS


def test_ipd_table() -> None:
    c, d = 0, 1
    assert IPD.moves == ("cooperate", "defect")
    assert IPD.payoff(c, c) == (3, 3)  # R
    assert IPD.payoff(c, d) == (0, 5)  # S, T
    assert IPD.payoff(d, c) == (5, 0)  # T, S
    assert IPD.payoff(d, d) == (1, 1)  # P
    assert IPD.ranking is Ranking.MEAN_PAYOFF
    assert IPD.draw_band_z is None
    assert IPD.draw_margin(200) == 0.0
    assert IPD.forfeit_payoffs == (0, 5)


def test_rps_draw_margin_matches_roshambo() -> None:
    # RoShamBo: 1.96 * sqrt(1000 * 2/3) = 50.6 on wins - losses; the difference of totals is twice that.
    margin = RPS.draw_margin(1000)
    assert margin == pytest.approx(1.96 * math.sqrt(1000 * 8 / 3))
    assert round(margin, 1) == 101.2
    assert round(margin / 2, 1) == 50.6
    # Var(a - b) is the same for RPSLS (ties 1/5 instead of 1/3, so a bit wider).
    assert RPSLS.draw_margin(1000) == pytest.approx(1.96 * math.sqrt(1000 * 4 * 4 / 5))


# --- registry --------------------------------------------------------------------------------------------


def test_builtin_games() -> None:
    games = builtin_games()
    assert sorted(games) == ["ipd", "rps", "rpsls"]
    assert builtin_games() == games
    with pytest.raises(TypeError):
        games["x"] = RPS  # type: ignore[index]


def test_unknown_game() -> None:
    with pytest.raises(UnknownGameError, match=r"^unknown game 'chess' \(known: ipd, rps, rpsls\)$") as info:
        get_game("chess")
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RulesError)


# --- definitions ---------------------------------------------------------------------------------------


def test_symmetric_game_builds_a_symmetric_table() -> None:
    game = symmetric_game(
        "stag-hunt",
        ["stag", "hare"],
        [[4, 0], [3, 3]],
        ranking=Ranking.MEAN_PAYOFF,
        draw_band_z=None,
        description="Stag hunt.",
    )
    assert game.moves == ("stag", "hare")
    assert game.payoffs == (((4, 4), (0, 3)), ((3, 0), (3, 3)))
    assert game.description == "Stag hunt."


@given(
    st.integers(2, 6).flatmap(
        lambda n: st.lists(st.lists(st.integers(-100, 100), min_size=n, max_size=n), min_size=n, max_size=n)
    )
)
def test_symmetric_game_tables_are_symmetric(table: list[list[int]]) -> None:
    n = len(table)
    game = symmetric_game(
        "g", [f"m{i}" for i in range(n)], table, ranking=Ranking.MATCH_POINTS, draw_band_z=1.0
    )
    for a in range(n):
        for b in range(n):
            assert game.payoff(a, b) == (table[a][b], table[b][a])
            assert game.payoff(b, a) == tuple(reversed(game.payoff(a, b)))
    assert game.draw_margin(100) >= 0.0


def _game(**changes: object) -> Game:
    fields: dict[str, object] = {
        "name": "g",
        "moves": ("x", "y"),
        "payoffs": (((1, 1), (0, 2)), ((2, 0), (0, 0))),
        "ranking": Ranking.MATCH_POINTS,
        "draw_band_z": None,
    }
    fields.update(changes)
    return Game(**fields)  # type: ignore[arg-type]


def test_valid_definition() -> None:
    assert _game().n_moves == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "name"),
        ({"moves": ("x",), "payoffs": (((0, 0),),)}, "at least 2"),
        ({"moves": ["x", "y"]}, "tuple"),
        ({"moves": ("x", "")}, "non-empty"),
        ({"moves": ("x", 1)}, "non-empty strings"),
        ({"moves": ("x", "x")}, "unique"),
        ({"payoffs": (((1, 1), (0, 2)),)}, "2 rows"),
        ({"payoffs": (((1, 1), (0, 2)), ((2, 0),))}, r"row 1"),
        ({"payoffs": (((1, 1), (0, 2)), ((2, 0), (0,)))}, r"payoffs\[1\]\[1\]"),
        ({"payoffs": (((1, 1), (0, 2.5)), ((2, 0), (0, 0)))}, r"payoffs\[0\]\[1\]"),
        ({"payoffs": (((1, True), (0, 2)), ((2, 0), (0, 0)))}, r"payoffs\[0\]\[0\]"),
        ({"ranking": "match-points"}, "ranking"),
        ({"draw_band_z": -1.0}, "draw_band_z"),
        ({"draw_band_z": math.inf}, "draw_band_z"),
        ({"draw_band_z": math.nan}, "draw_band_z"),
    ],
)
def test_invalid_definitions_are_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(GameDefinitionError, match=message):
        _game(**changes)


def test_symmetric_game_rejects_wrong_shape() -> None:
    with pytest.raises(GameDefinitionError, match="3 x 3"):
        symmetric_game("g", ["a", "b", "c"], [[0, 1], [1, 0]], ranking=Ranking.MATCH_POINTS, draw_band_z=None)
    with pytest.raises(GameDefinitionError, match="unique"):
        symmetric_game("g", ["a", "a"], [[0, 1], [1, 0]], ranking=Ranking.MATCH_POINTS, draw_band_z=None)


def test_games_are_frozen_values() -> None:
    copy = symmetric_game(
        "rps",
        RPS.moves,
        [[RPS.payoff(a, b)[0] for b in range(3)] for a in range(3)],
        ranking=Ranking.MATCH_POINTS,
        draw_band_z=1.96,
        description=RPS.description,
    )
    assert copy == RPS
    assert hash(copy) == hash(RPS)
    with pytest.raises(AttributeError):
        RPS.name = "x"  # type: ignore[misc]
