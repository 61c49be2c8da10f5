"""The registry service on SQLite and PostgreSQL: submit, validate, version, own, retire, audit."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tournament.authoring.isolation import validate_isolated
from tournament.authoring.policy import ValidationPolicy
from tournament.authoring.report import ValidationReport
from tournament.persistence import Database, active_versions, open_database
from tournament.persistence.authors import UnknownAuthorError
from tournament.persistence.errors import InvalidStrategyError, UnknownStrategyError
from tournament.services.authors import Actor
from tournament.services.errors import InvalidRequestError
from tournament.services.submissions import (
    ComponentTooLargeError,
    NotOwnerError,
    ValidationUnavailableError,
    VersionConflictError,
    audit_log,
    list_strategies,
    next_version,
    retire,
    show_strategy,
    submit_strategy,
)

from .conftest import VALIDATE, Authors, Components, submit


def _kinds(db: Database, strategy: str) -> list[tuple[str, str | None, dict[str, object]]]:
    """(kind, version, detail) of a strategy's audit events, oldest first."""
    return [(e.kind, e.version, e.detail) for e in reversed(audit_log(db, strategy, 100))]


def test_a_valid_submission_becomes_the_active_version(registry: Database, components: Components) -> None:
    result = submit(registry, components["cycle"], "cycler", games=("rps", "rpsls"))
    assert result.outcome == "stored"
    assert result.message == "stored cycler 1.0.0 (active)"
    assert result.version.status == "active"
    assert result.version.wit_version == "1.0.0"
    assert result.version.deterministic
    assert result.report is not None
    assert result.report.passed
    with registry.sessions() as session:
        picked = {v.name: v for v in active_versions(session, "rpsls")}
    assert picked["cycler"].content_hash == result.report.content_hash
    detail = show_strategy(registry, "cycler")
    assert detail.current_version == "1.0.0"
    (version,) = detail.versions
    assert version.current
    assert version.language == "wat"
    assert version.size == len(components["cycle"])
    report = version.parsed_report
    assert report is not None
    assert report.fuel_mean is not None
    assert report.instantiate_ms is not None
    assert [kind for kind, _, _ in _kinds(registry, "cycler")] == ["submitted", "validated", "state-changed"]
    assert _kinds(registry, "cycler")[-1][2] == {"version": "1.0.0", "from": "validating", "to": "active"}


def test_identical_bytes_are_a_no_op_that_says_so(registry: Database, components: Components) -> None:
    submit(registry, components["cycle"], "cycler")
    events = len(audit_log(registry, "cycler"))
    calls: list[bytes] = []

    def counting(data: bytes, policy: ValidationPolicy) -> ValidationReport:
        calls.append(data)
        return VALIDATE(data, policy)

    again = submit(registry, components["cycle"], "cycler", version="9.0.0", validate=counting)
    assert again.outcome == "identical"
    assert again.message == "identical to version 1.0.0 of cycler (state active): nothing stored"
    assert again.report is not None
    assert again.report.passed
    assert calls == []
    assert [v.version for v in show_strategy(registry, "cycler").versions] == ["1.0.0"]
    assert len(audit_log(registry, "cycler")) == events
    # The same bytes under another name are a new strategy (the blob itself is stored once).
    assert submit(registry, components["cycle"], "cycler-two").outcome == "stored"


def test_a_rejected_version_is_kept_with_its_reasons(registry: Database, components: Components) -> None:
    submit(registry, components["cycle"], "cycler")
    rejected = submit(registry, components["illegal"], "cycler")
    assert rejected.outcome == "rejected"
    assert rejected.message.startswith("rejected: cycler 1.0.1 failed validation: smoke-match: vs ")
    assert "illegal-move at round 0: move 7 is not one of 0..2" in rejected.message
    assert rejected.report is not None
    assert rejected.rejection_reasons == tuple(rejected.report.failures())
    detail = show_strategy(registry, "cycler")
    newest = detail.versions[0]
    assert (newest.version, newest.status, newest.current) == ("1.0.1", "rejected", False)
    assert newest.rejection_reasons == rejected.rejection_reasons
    assert newest.report is not None
    assert newest.report["passed"] is False
    assert detail.current_version == "1.0.0"
    with registry.sessions() as session:
        assert [v.version for v in active_versions(session, "rps", ["cycler"])] == ["1.0.0"]
    validated = [d for kind, _, d in _kinds(registry, "cycler") if kind == "validated"]
    assert validated[-1]["passed"] is False
    assert validated[-1]["failures"] == list(rejected.rejection_reasons)

    garbage = submit(registry, components["garbage"], "garbage-bot")
    assert garbage.outcome == "rejected"
    assert garbage.rejection_reasons[0].startswith("compiles: ")
    # Resubmitting rejected bytes says so, with the stored reasons.
    again = submit(registry, components["garbage"], "garbage-bot")
    assert again.message == "identical to version 1.0.0 of garbage-bot (state rejected): nothing stored"
    assert again.rejection_reasons == garbage.rejection_reasons


def test_versions_default_to_the_next_patch(registry: Database, components: Components) -> None:
    assert submit(registry, components["cycle"], "cycler").version.version == "1.0.0"
    assert submit(registry, components["paper"], "cycler").version.version == "1.0.1"
    assert submit(registry, components["scissors"], "cycler", version="2.0.0").version.version == "2.0.0"
    assert submit(registry, components["illegal"], "cycler").version.version == "2.0.1"
    with pytest.raises(VersionConflictError, match=r"^cycler already has a version 1\.0\.1 with different"):
        submit(registry, components["garbage"], "cycler", version="1.0.1")
    with pytest.raises(InvalidStrategyError, match="invalid version 'v3'"):
        submit(registry, components["garbage"], "cycler", version="v3")
    with pytest.raises(InvalidStrategyError, match="invalid strategy name 'Cycler'"):
        submit(registry, components["garbage"], "Cycler")
    with pytest.raises(InvalidRequestError, match=r"unknown game 'chess' \(known: rps, rpsls, ipd\)"):
        submit(registry, components["garbage"], "chess-bot", games=("chess",))
    assert next_version(["1.2.3", "1.10.0", "1.9.9-beta"]) == "1.10.1"


def test_oversized_components_are_refused_before_anything_is_stored(
    registry: Database, components: Components
) -> None:
    data = components["cycle"]
    with pytest.raises(
        ComponentTooLargeError, match=f"the component is {len(data):,} bytes, over the size cap"
    ):
        submit_strategy(
            registry, data, name="cycler", actor=Actor.operator(), validate=VALIDATE,
            policy=ValidationPolicy(max_size=len(data) - 1),
        )  # fmt: skip
    with pytest.raises(UnknownStrategyError):
        show_strategy(registry, "cycler")


def test_only_owners_and_admins_change_a_strategy(
    registry: Database, components: Components, authors: Authors
) -> None:
    submit(registry, components["cycle"], "alices-bot", authors.alice)
    assert show_strategy(registry, "alices-bot").owner == "alice"
    with pytest.raises(NotOwnerError, match="'bob' may not submit versions of 'alices-bot': it is owned by"):
        submit(registry, components["paper"], "alices-bot", authors.bob)
    with pytest.raises(NotOwnerError, match="'bob' may not retire 'alices-bot'"):
        retire(registry, "alices-bot", actor=authors.bob)
    assert submit(registry, components["paper"], "alices-bot", authors.admin).outcome == "stored"
    assert submit(registry, components["scissors"], "alices-bot", authors.alice).outcome == "stored"
    assert show_strategy(registry, "alices-bot").owner == "alice"

    # The operator may name the owner of a new strategy, but not hand over an existing one.
    submit(registry, components["cycle"], "bobs-bot", owner="bob")
    assert show_strategy(registry, "bobs-bot").owner == "bob"
    assert {s.name: s.owner for s in list_strategies(registry)}["bobs-bot"] == "bob"
    with pytest.raises(InvalidRequestError, match="owner can only be chosen for a new strategy"):
        submit(registry, components["paper"], "bobs-bot", owner="alice")
    with pytest.raises(UnknownAuthorError, match="unknown author 'carol'"):
        submit(registry, components["cycle"], "carols-bot", owner="carol")
    with pytest.raises(NotOwnerError, match="'bob' may not submit a strategy on behalf of 'alice'"):
        submit(registry, components["cycle"], "fake-bot", authors.bob, owner="alice")

    # Built-in names cannot be taken, not even by an admin.
    with pytest.raises(VersionConflictError, match="'rotate' is a built-in strategy; choose another name"):
        submit(registry, components["cycle"], "rotate", authors.admin)


def test_retire_falls_back_to_the_previous_active_version(
    registry: Database, components: Components, authors: Authors
) -> None:
    submit(registry, components["cycle"], "cycler", authors.alice)
    submit(registry, components["paper"], "cycler", authors.alice)
    result = retire(registry, "cycler", actor=authors.alice)
    assert result.changed
    assert result.message == "retired cycler 1.0.1; new tournaments use cycler 1.0.0"
    with registry.sessions() as session:
        assert [v.version for v in active_versions(session, "rps", ["cycler"])] == ["1.0.0"]
    again = retire(registry, "cycler", "1.0.1", actor=authors.alice)
    assert not again.changed
    assert again.message == "cycler 1.0.1 is already retired"
    last = retire(registry, "cycler", "1.0.0", actor=authors.admin)
    assert last.current is None
    assert last.message == "retired cycler 1.0.0; no active version left: no new tournament picks cycler"
    with pytest.raises(InvalidRequestError, match="cycler has no active version to retire"):
        retire(registry, "cycler", actor=authors.alice)
    with pytest.raises(
        UnknownStrategyError, match=r"cycler has no version 3\.0\.0 \(versions: 1\.0\.1, 1\.0\.0\)"
    ):
        retire(registry, "cycler", "3.0.0", actor=authors.alice)
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'nobody'"):
        retire(registry, "nobody", actor=authors.alice)
    changes = [
        (v, d["from"], d["to"]) for kind, v, d in _kinds(registry, "cycler") if kind == "state-changed"
    ]
    assert changes[-2:] == [("1.0.1", "active", "retired"), ("1.0.0", "active", "retired")]


def test_builtins_are_retired_by_the_operator_or_admins_only_and_stay_retired(
    registry: Database, authors: Authors, small_manifest: Path
) -> None:
    with pytest.raises(NotOwnerError, match="only the operator or an admin may retire built-in strategy"):
        retire(registry, "rotate", actor=authors.alice)
    assert retire(registry, "rotate", actor=Actor.operator()).changed
    # Reopening registers the built-ins again; a built-in retired by hand stays retired.
    with open_database(registry.url, builtins_manifest=small_manifest) as again, again.sessions() as session:
        assert [v.name for v in active_versions(session, "rps")] == ["constant"]
    assert _kinds(registry, "rotate")[-1][0] == "state-changed"
    assert audit_log(registry, "rotate")[0].actor == "cli"


def test_validation_that_cannot_run_leaves_the_version_validating_until_resubmitted(
    registry: Database, components: Components, tmp_path: Path
) -> None:
    broken = functools.partial(validate_isolated, builtins_manifest=tmp_path / "missing.json")
    with pytest.raises(ValidationUnavailableError, match="stays 'validating': submit the same file again"):
        submit(registry, components["cycle"], "cycler", validate=broken)
    assert [(v.version, v.status) for v in show_strategy(registry, "cycler").versions] == [
        ("1.0.0", "validating")
    ]
    with registry.sessions() as session:
        assert "cycler" not in {v.name for v in active_versions(session, "rps")}
    resumed = submit(registry, components["cycle"], "cycler")
    assert (resumed.outcome, resumed.version.version) == ("stored", "1.0.0")
    assert [(v.version, v.status) for v in show_strategy(registry, "cycler").versions] == [
        ("1.0.0", "active")
    ]


def test_audit_log_queries(registry: Database, components: Components, authors: Authors) -> None:
    events = audit_log(registry, None, 10)
    created = [e for e in events if e.kind == "author-created"]
    assert {e.detail["author"] for e in created} == {"alice", "bob", "root"}
    assert all(e.actor == "cli" for e in created)
    submit(registry, components["cycle"], "cycler", authors.bob)
    assert [e.kind for e in audit_log(registry, None, 2)] == ["state-changed", "validated"]
    assert {e.actor for e in audit_log(registry, "cycler")} == {"bob"}
    with pytest.raises(InvalidRequestError, match="limit must be between 1 and 1000, got 0"):
        audit_log(registry, None, 0)
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'nope'"):
        audit_log(registry, "nope")


def test_concurrent_first_submissions_of_one_name_both_land(
    registry: Database, components: Components
) -> None:
    start = threading.Barrier(2)

    def submit_after_barrier(data: bytes) -> str:
        start.wait()
        return submit(registry, data, "racer").version.version

    with ThreadPoolExecutor(max_workers=2) as pool:
        labels = sorted(pool.map(submit_after_barrier, [components["paper"], components["scissors"]]))
    assert labels == ["1.0.0", "1.0.1"]
    assert [v.status for v in show_strategy(registry, "racer").versions] == ["active", "active"]
