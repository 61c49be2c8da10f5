"""Each page in headless Chromium shows exactly the numbers the CLI (the same services) reports."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.web.conftest import FIELD, Site, screenshot


def cells(page: Page, selector: str) -> list[list[str]]:
    """The text of every body cell (th and td) of a table, row by row."""
    rows: list[list[str]] = page.eval_on_selector_all(
        f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return rows


def test_leaderboard_matches_the_cli(site: Site, page: Page, tmp_path: Path) -> None:
    page.goto(site.server.url + "/")
    expected = site.json("leaderboard", "--game", "rps")
    shown = cells(page, "#leaderboard")
    assert [row[:3] for row in shown] == [
        [str(r["rank"]), r["strategy"], f"{r['display']:.2f}"] for r in expected
    ]
    assert [row[3:] for row in shown] == [
        [
            f"{r['mu']:.2f}",
            f"{r['sigma']:.2f}",
            str(r["matches"]),
            str(r["wins"]),
            str(r["draws"]),
            str(r["losses"]),
        ]
        for r in expected
    ]
    assert [row[0] for row in cells(page, "#tournaments")] == ["#2", "#1"]
    screenshot(page, tmp_path, "leaderboard")
    page.select_option("#game", "ipd")
    page.wait_for_url("**/?game=ipd")
    assert "No finished matches of ipd" in page.inner_text("main")
    page.goto(site.server.url + "/")
    page.click("#tournaments >> text=#1")
    page.wait_for_url("**/tournaments/1")


def test_tournament_standings_and_heat_map(site: Site, page: Page, tmp_path: Path) -> None:
    page.goto(site.server.url + "/tournaments/1")
    standings = site.json("standings", "1")
    columns = ("rank", "strategy", "points", "wins", "draws", "losses", "total_payoff")
    shown = cells(page, "#standings")
    assert [row[:7] for row in shown] == [[str(s[c]) for c in columns] for s in standings]
    assert [float(row[7]) for row in shown] == [s["mean_payoff"] for s in standings]
    assert [int(row[9]) for row in shown] == [s["forfeits"] for s in standings]

    h2h = site.json("h2h", "1")
    heat = page.eval_on_selector_all(
        "#h2h td[data-diff]", "tds => tds.map(td => [td.dataset.row, td.dataset.col, td.innerText])"
    )
    expected = {
        (c["strategy"], c["opponent"]): (
            c["payoff"] - c["opponent_payoff"],
            c["wins"],
            c["draws"],
            c["losses"],
        )
        for c in h2h["cells"]
    }
    assert len(heat) == len(expected) == 4 * 3
    for row, column, text in heat:
        difference, wins, draws, losses = expected[(row, column)]
        assert text.split() == [f"{difference:+d}", f"{wins}-{draws}-{losses}"]
    colours = page.eval_on_selector_all(
        "#h2h td[data-diff]", "tds => tds.map(td => [+td.dataset.diff, getComputedStyle(td).backgroundColor])"
    )
    for difference, colour in colours:
        red, green, _ = (int(part) for part in colour[colour.index("(") + 1 : -1].split(",")[:3])
        if difference > 0:
            assert green > red, colour
        elif difference < 0:
            assert red > green, colour
    assert len(cells(page, "#matches")) == 12
    screenshot(page, tmp_path, "tournament")


def test_strategy_history_ends_at_the_leaderboard_rating(site: Site, page: Page, tmp_path: Path) -> None:
    board = {r["strategy"]: r for r in site.json("leaderboard", "--game", "rps")}
    standings = {t: {s["strategy"]: s for s in site.json("standings", t)} for t in ("1", "2")}
    for name in FIELD.split(","):
        page.goto(f"{site.server.url}/strategies/{name}")
        history = cells(page, "table.history[data-game=rps]")
        assert [row[0] for row in history] == ["#1", "#2"]
        assert history[-1][1:] == [
            f"{board[name]['display']:.2f}",
            f"{board[name]['mu']:.2f}",
            f"{board[name]['sigma']:.2f}",
        ]
        assert page.locator("figure.chart polyline.series-a").count() == 1
        results = cells(page, "#results")
        for row, tournament in zip(results, ("1", "2"), strict=True):
            standing = standings[tournament][name]
            assert row[0] == f"#{tournament}"
            assert row[3:9] == [
                f"{standing['rank']} / 4", str(standing["points"]), str(standing["wins"]),
                str(standing["draws"]), str(standing["losses"]), str(standing["total_payoff"]),
            ]  # fmt: skip
        assert cells(page, "#versions")
        if name == "rotate":
            screenshot(page, tmp_path, "strategy")


def test_match_replay_pages_and_running_score(site: Site, page: Page, tmp_path: Path) -> None:
    replay = site.json("match", "show", "1")
    match = replay["match"]
    page.goto(site.server.url + "/matches/1")
    assert page.inner_text("#match-total") == f"{match['total_a']} : {match['total_b']}"
    first = cells(page, "#rounds")
    assert len(first) == 100
    for row, expected in zip(first, replay["rounds"][:100], strict=True):
        assert [int(row[0]), int(row[4]), int(row[5])] == [
            expected["round"] + 1,
            expected["score_a"],
            expected["score_b"],
        ]
    assert page.locator("figure.chart polyline").count() == 2
    screenshot(page, tmp_path, "match", full_page=False)
    page.click("nav.pager a[rel=next]")
    page.wait_for_url("**/matches/1?page=2")
    last = cells(page, "#rounds")
    assert len(last) == 50
    assert last[-1][0] == "150"
    assert [int(last[-1][4]), int(last[-1][5])] == [match["total_a"], match["total_b"]]


def test_unknown_ids_are_html_404_pages(site: Site, page: Page) -> None:
    for path, message in (
        ("/tournaments/999", "no tournament with id 999"),
        ("/tournaments/999/live", "no tournament with id 999"),
        ("/matches/999", "no match with id 999"),
        ("/strategies/nobody", "unknown strategy 'nobody'"),
        ("/?game=chess", "unknown game 'chess'"),
    ):
        response = page.goto(site.server.url + path)
        assert response is not None
        assert response.status == 404, path
        assert "text/html" in response.headers["content-type"]
        assert message in page.inner_text("[role=alert]"), path
