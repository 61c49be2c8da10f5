"""Response bodies of the results endpoints: the same fields as the CLI's `--json` output."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Outcome = Literal["a", "b", "draw"]


class TournamentSummaryOut(BaseModel):
    id: int
    game: str
    rounds: int
    repetitions: int
    seed: int
    noise: float
    status: str = Field(description="pending, running, finished, failed or cancelled.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    participants: int
    matches_finished: int
    matches_total: int


class TournamentPageOut(BaseModel):
    total: int = Field(description="How many tournaments match the filters (all pages).")
    limit: int
    offset: int
    items: list[TournamentSummaryOut] = Field(description="Newest first.")


class ParticipantOut(BaseModel):
    name: str
    version: str = Field(description="The exact version this tournament plays (pinned when created).")
    content_hash: str
    language: str


class TournamentDetailOut(BaseModel):
    id: int
    game: str
    rounds: int
    repetitions: int
    seed: int
    noise: float
    config: dict[str, Any] = Field(description="Limits and other settings the tournament was run with.")
    engine_version: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    participants: list[ParticipantOut] = Field(description="In seat order.")
    matches_finished: int
    matches_total: int


class StandingOut(BaseModel):
    """One line of `tournament standings ID --json`."""

    rank: int = Field(description='Competition rank ("1224"): equal ranking keys share a rank.')
    strategy: str
    points: int = Field(description="2 per win, 1 per draw.")
    wins: int
    draws: int
    losses: int
    total_payoff: int
    mean_payoff: float = Field(description="Payoff per round, rounded to 6 decimals.")
    matches: int
    rounds: int
    forfeits: int


class HeadToHeadCellOut(BaseModel):
    strategy: str = Field(description="The row.")
    opponent: str = Field(description="The column.")
    matches: int
    wins: int
    draws: int
    losses: int
    payoff: int = Field(description="The row's payoff against the column, summed over their matches.")
    opponent_payoff: int
    rounds: int
    mean_payoff: float


class HeadToHeadOut(BaseModel):
    """As `tournament h2h ID --json`."""

    strategies: list[str] = Field(description="Rows and columns, in standings order.")
    cells: list[HeadToHeadCellOut]


class MatchOut(BaseModel):
    """A match as `tournament match show ID --json` prints its `match`."""

    match_id: int
    tournament_id: int
    game: str
    position: int
    repetition: int
    seed: int
    status: Literal["pending", "finished"]
    strategy_a: str
    strategy_b: str
    version_a: str
    version_b: str
    outcome: Outcome | None
    rounds_played: int | None
    total_a: int | None
    total_b: int | None
    forfeit_reason_a: str | None = Field(description="A's first forfeit reason, if A forfeited any round.")
    forfeit_reason_b: str | None
    detail_a: str | None = Field(description="The first forfeit's message (trap text, illegal value, ...).")
    detail_b: str | None
    finished_at: datetime | None


class MatchPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[MatchOut] = Field(description="By position in the tournament.")


class RoundOut(BaseModel):
    round: int
    move_a: str | None = Field(description="The move's label; null when A forfeited the round.")
    move_b: str | None
    payoff_a: int
    payoff_b: int
    score_a: int = Field(description="A's running score after this round (from round 0, at any offset).")
    score_b: int
    noise_a: bool = Field(description="A's move was flipped by noise.")
    noise_b: bool
    forfeit_a: str | None
    forfeit_b: str | None
    fuel_a: int
    fuel_b: int


class RoundPageOut(BaseModel):
    match: MatchOut
    total: int = Field(description="Rounds stored for the match.")
    limit: int
    offset: int
    rounds: list[RoundOut]


class RatingOut(BaseModel):
    """One line of `tournament leaderboard --json`."""

    rank: int
    strategy: str
    mu: float
    sigma: float
    display: float = Field(description="mu - 3 sigma: the conservative rating the board is ranked by.")
    matches: int
    wins: int
    draws: int
    losses: int


class RatingPageOut(BaseModel):
    game: str
    total: int
    limit: int
    offset: int
    items: list[RatingOut]


class RatingPointOut(BaseModel):
    mu: float
    sigma: float
    display: float


class HistoryEntryOut(BaseModel):
    tournament_id: int
    version: str
    status: str
    rank: int | None = Field(description="Rank in the tournament's standings (null: no finished match).")
    points: int | None
    mean_payoff: float | None
    finished_at: datetime | None
    rating: RatingPointOut | None = Field(
        description="The rating right after the strategy's last match of this tournament, in replay order."
    )


class StrategyHistoryOut(BaseModel):
    strategy: str
    game: str
    tournaments: list[HistoryEntryOut] = Field(description="Oldest first.")
