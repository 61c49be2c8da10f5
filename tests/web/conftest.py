"""A real `tournament serve` (uvicorn, `create_app`) over a database with real tournaments, and Chromium.

The browser tests skip only when Debian's Chromium is missing (`bash scripts/chromium.sh` installs it).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.api.conftest import TOURNAMENT, Server, start_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
FIELD = "beat-last,constant,rotate,rfind"


@dataclass(frozen=True)
class Site:
    """The served database and the CLI bound to it: the reference the pages are checked against."""

    server: Server
    db_url: str

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(TOURNAMENT), *args], capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "TOURNAMENT_DB": self.db_url},
        )  # fmt: skip
        assert result.returncode == 0, f"tournament {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Two small finished rps tournaments (one with 2 repetitions), served on loopback."""
    folder = tmp_path_factory.mktemp("web")
    db_url = f"sqlite:///{folder / 'web.db'}"
    reference = Site(Server("", 0, db_url), db_url)
    common = ("--strategies", FIELD, "--workers", "1")
    reference.cli("run", "--rounds", "150", "--seed", "1", "--repetitions", "2", *common)
    reference.cli("run", "--rounds", "120", "--seed", "2", *common)
    for server in start_server(db_url, folder / "server.log"):
        yield Site(server, db_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `bash scripts/chromium.sh` to install Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser context per test; the page fails the test on any JavaScript error."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def screenshot(page: Page, folder: Path, name: str, *, full_page: bool = True) -> Path:
    """Save a full-page screenshot artifact (under pytest's tmp dir; WEB_SCREENSHOTS=DIR keeps copies)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    keep = os.environ.get("WEB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(keep) / f"{name}.png"), full_page=full_page)
    assert path.stat().st_size > 1000
    return path
