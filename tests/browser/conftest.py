"""A real headless Chromium at phone size, driven by Playwright, checked with axe-core.

The app runs in a thread on a free port with its own SQLite database. Browser tests skip,
saying why, when no Chromium is installed, unless VOICEAPP_REQUIRE_BROWSER=1 (CI) makes
that a failure. Screenshots of every page visited go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from ..conftest import make_app
from ..live import LiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
REQUIRE_BROWSER = os.environ.get("VOICEAPP_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not HAVE_CHROMIUM and not REQUIRE_BROWSER:
                item.add_marker(pytest.mark.skip(
                    reason=f"no Chromium at {CHROMIUM}: install Debian's chromium "
                           "(or set CHROMIUM_PATH) to run the browser tests"))


@pytest.fixture(scope="session", autouse=True)
def _browser_is_there():
    if REQUIRE_BROWSER and not HAVE_CHROMIUM:
        pytest.fail(f"VOICEAPP_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")


CHROMIUM_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def browser_launch_args_for(*extra: str) -> dict:
    """Launch options for Debian's Chromium, plus per-browser flags (e.g. a fake mic file)."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS + list(extra)}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, **browser_launch_args_for()}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, playwright):
    return {**browser_context_args, **playwright.devices["Pixel 7"],
            "permissions": ["microphone"], "locale": "en-GB",
            "timezone_id": "Europe/London"}


@pytest.fixture
def live_app(tmp_path, sqlite_template):
    path = tmp_path / "voiceapp.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}", tmp_path / "instance")
    server = LiveServer(app)
    yield server
    server.stop()
    app.extensions["voiceapp.db"].engine.dispose()


@pytest.fixture
def live_demo(live_app) -> dict:
    result = live_app.app.test_cli_runner().invoke(args=["demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class Checker:
    """Runs axe-core on a page and keeps a screenshot of it, named for the test."""

    def __init__(self, name: str) -> None:
        self.axe = Axe()
        self.name = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.count = 0
        self.pages_checked: list[str] = []

    def __call__(self, page, label: str = "") -> None:
        page.wait_for_load_state("load")
        self.count += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", (label or page.url.split("/", 3)[-1]).lower())
        page.screenshot(path=SCREENSHOTS / f"{self.name}-{self.count:02d}-{slug.strip('-')}.png",
                        full_page=True)
        results = self.axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
        violations = results.response["violations"]
        self.pages_checked.append(page.url)
        assert not violations, f"axe found problems on {page.url}:\n" + "\n".join(
            f"- {v['id']}: {v['help']} ({len(v['nodes'])} places: "
            f"{[n['target'] for n in v['nodes'][:3]]})" for v in violations)


@pytest.fixture
def check(request) -> Checker:
    """``check(page)``: zero axe-core violations (WCAG 2.2 AA), and a screenshot."""
    return Checker(request.node.name)
