"""Property-based run of schemathesis against the live server's /openapi.json: no input makes it fail (5xx).

Every GET operation gets a bounded number of generated requests (valid and invalid, including unknown ids)
against a database holding one small played tournament, so the happy paths are reached too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.api.conftest import Server, start_server
from tests.cli.conftest import Cli

EXAMPLES_PER_OPERATION = 25
BUDGET_SECONDS = 90


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    """A server over a SQLite database with one finished tournament (ids 1 exist)."""
    db_url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    Cli(db_url)(
        "run", "--rounds", "10", "--seed", "3", "--strategies", "constant,rotate,beat-last", "--workers", "1"
    )
    yield from start_server(db_url, tmp_path / "server.log")


def test_no_server_errors_on_any_get(live: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document has an invalid operation: {result}"
        if result.ok().method.upper() == "GET":
            operations.append(result.ok())
    assert len(operations) >= 10, "the results and registry endpoints are documented"
    started = time.monotonic()
    failures: list[str] = []
    calls: dict[str, int] = {}
    for operation in operations:
        if time.monotonic() - started > BUDGET_SECONDS:
            break

        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
        )
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=live.url, timeout=30)
            calls[case.operation.path] = calls.get(case.operation.path, 0) + 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
    assert len(calls) == len(operations), f"some operations were never called: {calls}"
