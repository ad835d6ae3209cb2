"""Fixtures for the browser tests: a fresh Streamlit server per test module,
Debian's Chromium driven by Playwright, and an artifacts folder for
screenshots and the server's log.

Chromium is required: without /usr/bin/chromium these tests fail (CI installs
it, and a silent skip would hide a broken CI) unless CHARRNN_SKIP_BROWSER=1.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.page_js import CHROMIUM_ARGS
from tests.streamlit_server import REPO, streamlit_run

ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
DEFAULT_TIMEOUT_MS = 20_000  # any single Playwright action or wait


def _skip_or_fail(reason: str):
    if os.environ.get("CHARRNN_SKIP_BROWSER") == "1":
        pytest.skip(f"{reason} (CHARRNN_SKIP_BROWSER=1)")
    pytest.fail(f"{reason}. Install Debian's chromium (apt-get install chromium) and the "
                f"playwright Python package, or set CHARRNN_SKIP_BROWSER=1 to skip the "
                f"browser tests.", pytrace=False)


def safe_name(text: str) -> str:
    """A file name made of a test's name or id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "unnamed"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    """Fail loudly (or skip on request) before starting any server."""
    if os.environ.get("CHARRNN_SKIP_BROWSER") == "1":
        pytest.skip("browser tests skipped (CHARRNN_SKIP_BROWSER=1)")
    if not Path(CHROMIUM).exists():
        _skip_or_fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("the playwright Python package is missing")


RUNS_DIRS: dict = {}   # a server's base URL -> its runs folder (what it wrote on disk)


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, artifacts):
    """A fresh `streamlit run app.py` for this test module; yields its base URL.

    Fresh matters: on a new server Streamlit 1.67 routes the first deep link
    through its legacy pages/ router, which the tests must see the app survive.
    Runs go to a temporary folder; the book comes from CHARRNN_DATA_DIR
    (tests/conftest.py points it at ../shared/data when that exists).
    """
    runs = tmp_path_factory.mktemp("runs")
    env = dict(os.environ, CHARRNN_RUNS_DIR=str(runs))
    env.pop("CHARRNN_PRESENTER_KEY", None)  # a key would make the browser a watcher
    log = artifacts / f"server-{safe_name(request.module.__name__.rsplit('.', 1)[-1])}.log"
    with streamlit_run(log, env) as (base, _proc):
        RUNS_DIRS[base] = runs
        yield base


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser is a browser test (`-m "not browser"` skips them)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def page(request, browser, artifacts):
    """A fresh browser context (its own Streamlit session) per test.

    Uncaught JavaScript errors and console errors go to
    artifacts/<test>-console.log; a failing test leaves <test>-FAILED.png."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    pg = context.new_page()
    messages: list[str] = []
    pg.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))
    pg.on("console", lambda msg: messages.append(
        f"console.{msg.type}: {msg.text} ({(msg.location or {}).get('url', '')})")
        if msg.type == "error" else None)
    pg.on("requestfailed", lambda req: messages.append(
        f"requestfailed: {req.url} ({req.failure})"))
    name = safe_name(request.node.name)
    for stale in (artifacts / f"{name}-FAILED.png", artifacts / f"{name}-console.log"):
        stale.unlink(missing_ok=True)
    try:
        yield pg
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            try:
                pg.screenshot(path=str(artifacts / f"{name}-FAILED.png"), timeout=10_000)
            except Exception as exc:  # the page may be gone; keep the real failure
                messages.append(f"(no failure screenshot: {exc})")
        if messages:
            (artifacts / f"{name}-console.log").write_text("\n".join(messages) + "\n", "utf-8")
        context.close()
