"""Pure game rules and scoring: no I/O, no wasmtime, no database.

Outer layers import this, never the reverse.
"""

from tournament.rules.errors import GameDefinitionError, IllegalMoveError, RulesError, UnknownGameError
from tournament.rules.forfeits import ForfeitReason
from tournament.rules.games import (
    IPD,
    RPS,
    RPSLS,
    Game,
    Ranking,
    builtin_games,
    get_game,
    symmetric_game,
)
from tournament.rules.records import RoundRecord
from tournament.rules.rounds import apply_noise, score_round
from tournament.rules.scoring import MatchOutcome, MatchScore, MatchTally, score_match
from tournament.rules.seeds import SEED_BITS, derive_seed, opponent_id
from tournament.rules.standings import MatchSummary, Standing, compute_standings

__all__ = [
    "IPD",
    "RPS",
    "RPSLS",
    "SEED_BITS",
    "ForfeitReason",
    "Game",
    "GameDefinitionError",
    "IllegalMoveError",
    "MatchOutcome",
    "MatchScore",
    "MatchSummary",
    "MatchTally",
    "Ranking",
    "RoundRecord",
    "RulesError",
    "Standing",
    "UnknownGameError",
    "apply_noise",
    "builtin_games",
    "compute_standings",
    "derive_seed",
    "get_game",
    "opponent_id",
    "score_match",
    "score_round",
    "symmetric_game",
]
