"""Hardening (issue 7), what only a browser shows.

One server for this module, started with CHARRNN_PRESENTER_KEY set. In file order:
1. a viewer and a presenter (two browser contexts = two Streamlit sessions)
   watch one run: both see its step count grow; the viewer has no working
   start/stop/delete control (not even through the URL); every tab closes and
   the run trains on; the presenter stops it and the viewer sees it stop;
2. an upload over the size limit (.streamlit/config.toml) is refused with a
   message, and one over the corpus limit with the app's own message;
3. HTML and script tags in a pasted corpus are shown as text, never run.

Helpers are small on purpose: the page's markup is read through test ids and
the app's own i18n strings, as in test_app_browser.py.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from charrnn.data import MAX_CORPUS_BYTES
from charrnn.i18n import t

from .conftest import (CHROMIUM_ARGS, DEFAULT_TIMEOUT_MS, REPO, SERVER_START_TIMEOUT,  # noqa: F401
                       SERVER_STOP_TIMEOUT, _free_port, _wait_healthy, safe_name)

pytestmark = pytest.mark.browser

KEY = "classroom-key-7"
LOAD_MS = 45_000
SMALL_URL = "/?num_epochs=3000&num_hiddens=32&batch_size=8&num_steps=10&max_tokens=5000"


# ------------------------------------------------------------------ server
@pytest.fixture(scope="module")
def keyed_server(request, tmp_path_factory, artifacts):
    """`streamlit run app.py` with a presenter key in its environment.

    The shared `server` fixture removes CHARRNN_PRESENTER_KEY on purpose, so
    this module starts its own (same flags, plus the key)."""
    port = _free_port()
    runs = tmp_path_factory.mktemp("runs")
    env = dict(os.environ)
    env.update(CHARRNN_RUNS_DIR=str(runs), CHARRNN_THREADS="1", PYTHONUNBUFFERED="1",
               CHARRNN_PRESENTER_KEY=KEY)
    log = artifacts / f"server-{safe_name(request.module.__name__.rsplit('.', 1)[-1])}.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(f"{base}/_stcore/health", proc, log, SERVER_START_TIMEOUT)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def contexts(browser):
    """Make browser contexts (each its own Streamlit session); all closed at the end."""
    made = []

    def new():
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
        ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
        made.append(ctx)
        return ctx.new_page()
    yield new
    for ctx in made:
        try:
            ctx.close()
        except Exception:
            pass


# ----------------------------------------------------------------- helpers
IDLE_JS = """() => !document.querySelector(
    '[data-testid="stStatusWidget"], [data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]')"""
METRIC_JS = """(label) => {
  for (const m of document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')) {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    const v = m.querySelector('[data-testid="stMetricValue"]');
    if (l && v && l.textContent.trim() === label) return v.textContent.trim();
  }
  return null;
}"""
STATUS_JS = """() => {
  const h = document.querySelector('[data-testid="stMainBlockContainer"] h3');
  return h ? h.textContent.trim() : null;
}"""
CONTROLS = ["app.ctl.pause", "app.ctl.resume", "app.ctl.step", "app.ctl.stop", "app.ctl.delete"]


def open_page(page, url):
    page.goto(url, timeout=LOAD_MS)
    page.locator('[data-testid="stMain"] h1').first.wait_for(state="visible", timeout=LOAD_MS)
    page.wait_for_function(IDLE_JS, timeout=30_000, polling=100)
    assert_no_exception(page, url)


def assert_no_exception(page, where):
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, f"{where}: {exc.first.inner_text()}"


def poll(fn, cond, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    value = fn()
    while not cond(value):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}; last {value!r}")
        time.sleep(0.25)
        value = fn()
    return value


def step_count(page):
    value = page.evaluate(METRIC_JS, t("app.m.step", "en"))
    digits = re.sub(r"[^0-9]", "", value or "")
    return int(digits) if digits else None


def status(page):
    text = page.evaluate(STATUS_JS) or ""
    return text.split()[0] if text.split() else None


def main_button(page, key):
    return page.get_by_test_id("stMainBlockContainer").get_by_role(
        "button", name=t(key, "en"), exact=True)


def sidebar_button(page, key):
    return page.get_by_test_id("stSidebar").get_by_role("button", name=t(key, "en"), exact=True)


def working_controls(page) -> list[str]:
    """Labels of enabled start / run-control / preset buttons on the page."""
    found = []
    for key in CONTROLS:
        b = main_button(page, key)
        found += [key for i in range(b.count()) if b.nth(i).is_enabled()]
    for key in ("cfg.start", "cfg.side_by_side"):
        b = sidebar_button(page, key)
        found += [key for i in range(b.count()) if b.nth(i).is_enabled()]
    for preset in ("quick", "explode", "d2l"):
        b = main_button(page, f"cfg.preset.{preset}")
        found += [preset for i in range(b.count()) if b.nth(i).is_enabled()]
    return found


def enter_key(page, key=KEY):
    box = page.get_by_test_id("stSidebar").get_by_label(t("app.key.label", "en"), exact=True)
    box.fill(key)
    box.press("Enter")
    page.get_by_test_id("stSidebar").get_by_text(t("app.key.ok", "en")).wait_for(
        state="visible", timeout=20_000)


def grows(page, what, timeout_s=30):
    first = poll(lambda: step_count(page), lambda s: s is not None and s > 0, timeout_s,
                 f"{what}: a step count")
    return first, poll(lambda: step_count(page), lambda s: s is not None and s > first,
                       timeout_s, f"{what}: the step count to grow past {first}")


# ------------------------------------------------------------------- tests
def test_viewer_cannot_control_presenter_can_and_both_watch(keyed_server, contexts,
                                                            artifacts):
    presenter = contexts()
    open_page(presenter, keyed_server + SMALL_URL)
    assert working_controls(presenter) == []  # before the key: a viewer like any other
    enter_key(presenter)
    sidebar_button(presenter, "cfg.start").click()
    poll(lambda: status(presenter), lambda s: s == "running", 30, "the run to be running")

    viewer = contexts()
    open_page(viewer, keyed_server + "/")
    poll(lambda: status(viewer), lambda s: s == "running", 30, "the viewer to see it running")
    p1, p2 = grows(presenter, "presenter")
    v1, v2 = grows(viewer, "viewer")
    assert v2 > v1 and p2 > p1
    assert working_controls(viewer) == [], working_controls(viewer)
    assert working_controls(presenter), "the presenter has no controls"
    viewer.screenshot(path=str(artifacts / "hardening_viewer.png"))

    # no query string starts, stops or deletes anything for a viewer
    hostile = ("/?stop=1&delete=1&start=1&action=stop&preset=explode&_controller=true"
               f"&presenter_key_input={KEY}&key={KEY}&go_quick=1")
    open_page(viewer, keyed_server + hostile)
    assert working_controls(viewer) == []
    before = step_count(viewer) or 0
    poll(lambda: step_count(viewer), lambda s: s is not None and s > before, 30,
         "training to go on after the hostile URL")
    assert status(viewer) == "running"

    # every tab closes: the run trains on without watchers
    last = max(step_count(viewer) or 0, step_count(presenter) or 0)
    presenter.context.close()
    viewer.context.close()
    time.sleep(3)
    watcher = contexts()
    open_page(watcher, keyed_server + "/")
    assert status(watcher) == "running"
    poll(lambda: step_count(watcher), lambda s: s is not None and s > last, 20,
         f"steps past {last} after every tab closed")

    # the presenter comes back and stops the run; the viewer sees it stop
    presenter = contexts()
    open_page(presenter, keyed_server + "/")
    enter_key(presenter)
    main_button(presenter, "app.ctl.stop").click()
    poll(lambda: status(presenter), lambda s: s == "stopped", 30, "the presenter: stopped")
    poll(lambda: status(watcher), lambda s: s == "stopped", 30, "the viewer: stopped")
    assert_no_exception(watcher, "viewer after stop")
    assert working_controls(watcher) == []
    watcher.screenshot(path=str(artifacts / "hardening_viewer_stopped.png"))


def _upload(page, name, data: bytes):
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(t("cfg.corpus.upload", "en"), exact=True).click()
    file_input = sidebar.locator('input[type="file"]')
    file_input.wait_for(state="attached", timeout=15_000)
    file_input.set_input_files(files=[{"name": name, "mimeType": "text/plain", "buffer": data}])


def test_uploads_over_the_limits_are_refused_with_a_message(keyed_server, contexts,
                                                            artifacts):
    page = contexts()
    open_page(page, keyed_server + "/")
    # over server.maxUploadSize (6 MiB): Streamlit's uploader refuses it
    _upload(page, "huge.txt", b"abc " * (7 * 1024 * 1024 // 4))
    uploader = page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader")
    poll(lambda: uploader.inner_text(), lambda s: "must be" in s and "or smaller" in s, 30,
         "Streamlit's size message")
    assert_no_exception(page, "huge upload")
    page.screenshot(path=str(artifacts / "hardening_upload_huge.png"))
    # under that, over the corpus limit (5 MiB): the app's own sentence
    page2 = contexts()
    open_page(page2, keyed_server + "/")
    _upload(page2, "big.txt", b"abc " * ((MAX_CORPUS_BYTES + 200_000) // 4))
    alert = page2.get_by_test_id("stSidebar").get_by_test_id("stAlert").filter(
        has_text="too large")
    alert.first.wait_for(state="visible", timeout=30_000)
    assert "the limit is 5 MB" in alert.first.inner_text()
    assert_no_exception(page2, "big upload")


PREFIX = "<b>x</b>"   # every character of it is in TAGS: a prefix the model knows
TAGS = ('<script>window.__xss=1</script> <img src=x onerror="window.__xss=2"> '
        '<b>bold</b> <a href="javascript:window.__xss=3">link</a> ') * 30


def test_html_in_a_pasted_corpus_is_shown_as_text(keyed_server, contexts, artifacts):
    page = contexts()
    open_page(page, keyed_server + "/?num_epochs=3000&num_hiddens=32&batch_size=8"
              "&num_steps=10&tokens=raw&corpus_src=paste")
    enter_key(page)
    sidebar = page.get_by_test_id("stSidebar")
    area = sidebar.get_by_label(t("cfg.paste", "en"), exact=True)
    area.fill(TAGS)
    area.press("Control+Enter")  # commit the text area
    page.wait_for_function(IDLE_JS, timeout=30_000, polling=100)
    sidebar.get_by_text(t("cfg.h.more", "en")).click()  # the expander with the prefix
    prefix = sidebar.get_by_label(t("cfg.prefix", "en"), exact=True)
    prefix.fill(PREFIX)
    prefix.press("Enter")
    page.wait_for_function(IDLE_JS, timeout=30_000, polling=100)
    sidebar_button(page, "cfg.start").click()
    poll(lambda: status(page), lambda s: s == "running", 30, "the HTML run to be running")
    samples = page.locator('[data-testid="stMain"] .samples .sample')
    samples.first.wait_for(state="attached", timeout=40_000)
    try:
        text = samples.first.inner_text()
        assert PREFIX in text, f"the sample does not show the prefix's tags as text: {text!r}"
        inside = page.evaluate("""() => {
            const s = document.querySelectorAll('[data-testid="stMain"] .samples');
            let n = 0;
            for (const el of s) n += el.querySelectorAll('script, img, a, b, iframe').length;
            return n;
        }""")
        assert inside == 0, f"{inside} HTML elements were made from the corpus"
        assert page.evaluate("() => window.__xss === undefined"), "markup from the corpus ran"
        assert_no_exception(page, "html run")
        page.screenshot(path=str(artifacts / "hardening_html_as_text.png"))
    finally:
        stop = main_button(page, "app.ctl.stop")
        if stop.count() and stop.is_enabled():
            stop.click()
            poll(lambda: status(page), lambda s: s in ("stopped", "finished"), 30, "stop")
