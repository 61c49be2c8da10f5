"""The live page follows a tournament run by another process, via Server-Sent Events, without reloading."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page

from tests.web.conftest import Site, screenshot
from tournament.persistence import open_database
from tournament.services.tournaments import TournamentRequest, create_tournament

LIVE_FIELD = ("beat-last", "constant", "rotate", "rfind", "bandit", "de-bruijn")
LIVE_ROUNDS = 40_000
"""15 matches of this many rounds take seconds in one process: the page, which polls every half second,
must see the run between its first and last match."""
RUN = (
    "import sys\n"
    "from tournament.persistence import open_database\n"
    "from tournament.services.tournaments import run_tournament\n"
    "with open_database(sys.argv[1]) as db:\n"
    "    run_tournament(db, int(sys.argv[2]), workers=1)\n"
)
WATCH = """() => {
  window.seen = [];
  window.notReloaded = true;
  const record = () => window.seen.push(+document.getElementById("finished").textContent);
  const options = {childList: true, characterData: true, subtree: true};
  new MutationObserver(record).observe(document.getElementById("finished"), options);
}"""


def test_live_page_updates_while_the_tournament_runs(site: Site, page: Page, tmp_path: Path) -> None:
    with open_database(site.db_url) as db:
        tournament_id = create_tournament(
            db, TournamentRequest(game="rps", rounds=LIVE_ROUNDS, seed=9, strategies=LIVE_FIELD)
        )
    total = len(LIVE_FIELD) * (len(LIVE_FIELD) - 1) // 2
    page.goto(f"{site.server.url}/tournaments/{tournament_id}/live")
    assert page.inner_text("#progress-text") == f"0 / {total} matches"
    page.wait_for_function("document.getElementById('connection').textContent.startsWith('Connected')")
    page.evaluate(WATCH)

    runner = subprocess.Popen([sys.executable, "-c", RUN, site.db_url, str(tournament_id)])
    try:
        page.wait_for_function(
            f"+document.getElementById('finished').textContent === {total}", timeout=120_000
        )
        assert runner.wait(timeout=60) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
    page.wait_for_selector("#final:not([hidden])")
    seen: list[int] = page.evaluate("window.seen")
    assert page.evaluate("window.notReloaded") is True, "the page reloaded"
    assert seen == sorted(seen)
    assert seen[-1] == total
    assert any(0 < value < total for value in seen), f"no intermediate progress was shown: {seen}"
    assert page.inner_text("#status") == "finished"
    assert page.get_attribute("#progress", "value") == str(total)
    latest = page.eval_on_selector_all("#latest tbody tr", "rows => rows.length")
    assert latest == 8
    screenshot(page, tmp_path, "live")


def test_event_stream_of_a_finished_tournament_ends_with_done(site: Site) -> None:
    started = time.monotonic()
    with httpx.stream("GET", f"{site.server.url}/tournaments/1/events", timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("event:")]
    assert events == ["event: progress", "event: done"]
    assert time.monotonic() - started < 5


def test_long_match_lists_are_paginated(site: Site) -> None:
    with open_database(site.db_url) as db:
        tournament_id = create_tournament(
            db, TournamentRequest(game="rps", rounds=10, seed=5, strategies=LIVE_FIELD[:4], repetitions=34)
        )
    pages = [
        httpx.get(f"{site.server.url}/tournaments/{tournament_id}", params={"page": page}).text
        for page in (1, 2)
    ]
    assert [text.count('<a href="/matches/') for text in pages] == [200, 6 * 34 - 200]
    assert "page 2 of 2" in pages[1]
    assert f"0 / {6 * 34}" in pages[0]
