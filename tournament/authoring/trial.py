"""`tournament strategy try`: local matches of a component against built-in or submitted strategies.

Nothing is written anywhere: built-ins come from the build manifest, submitted strategies are read from
the database only when a name is not a built-in, and the matches are played in this process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tournament.authoring.builtins import read_builtins
from tournament.orchestration.jobs import MatchJob, Seat, execute
from tournament.orchestration.match import MatchPlayed
from tournament.rules.seeds import derive_seed, opponent_id
from tournament.sandbox.artifacts import content_hash
from tournament.sandbox.errors import BadComponentError
from tournament.sandbox.limits import SandboxLimits
from tournament.sandbox.runtime import SandboxRuntime


class TrialError(Exception):
    """A trial that cannot be played as asked; the message is one line."""


class UnknownOpponentError(TrialError, LookupError):
    """An opponent name that is neither a built-in nor an active submitted strategy for the game."""


@dataclass(frozen=True, slots=True)
class Opponent:
    name: str
    data: bytes
    source: str
    """`built-in` or `submitted 1.2.0`."""


@dataclass(frozen=True, slots=True)
class TrialMatch:
    opponent: Opponent
    seed: int
    played: MatchPlayed
    """From the candidate's side: the candidate is player A."""


def resolve_opponents(
    names: Sequence[str], game: str, *, manifest: Path, db_url: str | None
) -> list[Opponent]:
    """Opponents by name: built-ins first, then active submitted versions (read-only) from `db_url`.

    UnknownOpponentError lists the names known for the game; the database is opened only when a name is
    not a built-in.
    """
    every_builtin = read_builtins(manifest)
    builtins = {name: entry for name, entry in every_builtin.items() if game in entry.games}
    found = {name: Opponent(name, builtins[name].read(), "built-in") for name in names if name in builtins}
    others = [name for name in dict.fromkeys(names) if name not in found]
    known_submitted: list[str] = []
    if others:
        submitted, known_submitted = _submitted(game, others, db_url)
        found.update(submitted)
    missing = [name for name in others if name not in found]
    if missing:
        noun = "strategy" if len(missing) == 1 else "strategies"
        known = ", ".join(sorted({*builtins, *known_submitted})) or "none"
        hints = "".join(
            f"; {name!r} plays {', '.join(every_builtin[name].games)}, not {game}"
            for name in missing
            if name in every_builtin
        )
        raise UnknownOpponentError(
            f"unknown {noun} {', '.join(map(repr, missing))} for {game} (known: {known}){hints}"
        )
    return [found[name] for name in names]


def _submitted(game: str, names: list[str], db_url: str | None) -> tuple[dict[str, Opponent], list[str]]:
    """(the named strategies that are active for `game`, every active name for `game`)."""
    from sqlalchemy import exc

    from tournament.persistence.database import display_url, open_database, sqlite_path
    from tournament.persistence.errors import PersistenceError
    from tournament.persistence.strategies import active_versions, component_bytes

    try:
        database = open_database(db_url, migrate=False)
    except PersistenceError as error:
        raise TrialError(str(error)) from None
    try:
        path = sqlite_path(database)
        if path is not None and not path.exists():
            return {}, []  # no database yet: nothing submitted, and none is created
        with database.sessions() as session:
            versions = {info.name: info for info in active_versions(session, game)}
            found = {
                name: Opponent(
                    name,
                    component_bytes(session, versions[name].content_hash),
                    f"submitted {versions[name].version}",
                )
                for name in names
                if name in versions
            }
            return found, sorted(versions)
    except exc.SQLAlchemyError as error:
        origin = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
        reason = (str(origin).strip().splitlines() or [type(origin).__name__])[0]
        raise TrialError(f"cannot read strategies from {display_url(database.url)}: {reason}") from None
    finally:
        database.close()


def play_trial(
    candidate: bytes,
    candidate_name: str,
    opponents: Sequence[Opponent],
    *,
    game: str,
    rounds: int,
    seed: int,
    limits: SandboxLimits | None = None,
    runtime: SandboxRuntime | None = None,
    allow_wasi: bool = False,
) -> list[TrialMatch]:
    """One match per opponent, seeded like a tournament pairing (from `seed` and both names).

    TrialError when the candidate cannot play at all (it fails the contract check).
    """
    limits = limits or SandboxLimits()
    owned = runtime is None
    runtime = runtime or SandboxRuntime(limits.stack_bytes)
    try:
        digest = content_hash(candidate)
        try:
            runtime.prepare(candidate, digest, allow_wasi=allow_wasi)
        except BadComponentError as error:
            raise TrialError(f"{candidate_name} cannot play: {error}") from None
        matches: list[TrialMatch] = []
        for opponent in opponents:
            opponent_digest = content_hash(opponent.data)
            try:
                runtime.prepare(opponent.data, opponent_digest, allow_wasi=allow_wasi)
                rejected = None
            except BadComponentError as error:
                rejected = str(error)
            match_seed = derive_seed(seed, 0, candidate_name, opponent.name)
            job = MatchJob(
                match_id=len(matches),
                game=game,
                rounds=rounds,
                seed=match_seed,
                noise=0.0,
                hidden_rounds=False,
                limits=limits,
                a=Seat(candidate_name, digest, derive_seed(match_seed, "a"), opponent_id(opponent.name)),
                b=Seat(
                    opponent.name,
                    opponent_digest,
                    derive_seed(match_seed, "b"),
                    opponent_id(candidate_name),
                    rejected=rejected,
                ),
                allow_wasi=allow_wasi,
            )
            matches.append(TrialMatch(opponent, match_seed, execute(job, runtime)))
        return matches
    finally:
        if owned:
            runtime.close()
