"""Hardening (issue 7), what only a browser shows.

One server for this module, started with CHARRNN_PRESENTER_KEY set. In file order:
1. a viewer and a presenter (two browser contexts = two Streamlit sessions)
   watch one run: both see its step count grow; the viewer has no working
   start/stop/delete control; every tab closes and the run trains on; the
   presenter comes back, enters the key and stops it (URL tricks are covered
   by AppTest in tests/test_hardening.py);
2. an upload over the size limit (.streamlit/config.toml) is refused with a
   message, and one over the corpus limit with the app's own message;
3. HTML and script tags in a pasted corpus are shown as text, never run.

Helpers are small on purpose: the page's markup is read through test ids and
the app's own i18n strings, as in test_app_browser.py.
"""
from __future__ import annotations

import os
import re
import time

import pytest

from charrnn.data import MAX_CORPUS_BYTES
from charrnn.i18n import t
from tests.page_js import METRIC_JS, STATUS_JS

from tests.streamlit_server import streamlit_run

from .conftest import DEFAULT_TIMEOUT_MS, safe_name

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
    runs = tmp_path_factory.mktemp("runs")
    env = dict(os.environ, CHARRNN_RUNS_DIR=str(runs), CHARRNN_PRESENTER_KEY=KEY)
    log = artifacts / f"server-{safe_name(request.module.__name__.rsplit('.', 1)[-1])}.log"
    RUNS_DIR[0] = runs
    with streamlit_run(log, env) as (base, _proc):
        yield base


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
RUNS_DIR = [None]  # the keyed server's runs folder


def runs_on_disk() -> list[str]:
    """Statuses of the server's runs, read from their meta.json (oldest first)."""
    import json
    out = []
    for meta in sorted(RUNS_DIR[0].glob("*/meta.json")) if RUNS_DIR[0] else []:
        try:
            out.append(json.loads(meta.read_text("utf-8"))["status"])
        except (OSError, ValueError, KeyError):
            out.append("?")
    return out



IDLE_JS = """() => !document.querySelector(
    '[data-testid="stStatusWidget"], [data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]')"""
CONTROLS = ["app.ctl.pause", "app.ctl.resume", "app.ctl.step", "app.ctl.stop", "app.ctl.delete"]


def open_page(page, url, live=False):
    """Load a page. A live page reruns its fragment every second, so on a busy
    machine it may never look idle: then wait for the run's status line."""
    page.goto(url, timeout=LOAD_MS)
    page.locator('[data-testid="stMain"] h1').first.wait_for(state="visible", timeout=LOAD_MS)
    if live:
        page.locator('[data-testid="stMainBlockContainer"] h3').first.wait_for(
            state="visible", timeout=LOAD_MS)
    else:
        page.wait_for_function(IDLE_JS, timeout=LOAD_MS, polling=100)
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


ENABLED_JS = """(labels) => {
  const out = [];
  for (const b of document.querySelectorAll(
      '[data-testid="stMain"] button, [data-testid="stSidebar"] button')) {
    if (b.disabled) continue;
    const p = b.querySelector('[data-testid="stMarkdownContainer"]');
    const text = (p ? p.textContent : b.textContent).trim();
    if (labels.includes(text)) out.push(text);
  }
  return out;
}"""
CONTROL_LABELS = [t(k, "en") for k in CONTROLS + ["cfg.start", "cfg.side_by_side"]
                  + [f"cfg.preset.{p}" for p in ("quick", "explode", "d2l")]]


def working_controls(page) -> list[str]:
    """Labels of the enabled start / run-control / preset buttons (one round trip)."""
    return page.evaluate(ENABLED_JS, CONTROL_LABELS)


def click_enabled(page, locator, what, timeout_s=30):
    """Click the first enabled match: while a fragment redraws on a busy server,
    the old (stale) and the new button can both be on the page."""
    try:
        locator.and_(page.locator("button:not([disabled])")).first.click(
            timeout=timeout_s * 1000)
    except Exception as exc:
        pytest.fail(f"no enabled {what} within {timeout_s} s ({exc.__class__.__name__})")


def enter_key(page, key=KEY):
    """Type the presenter key. On a busy server a live-fragment redraw can land
    between typing and Enter and drop the value: then it is typed again. The
    box may wait as long as a page load (a CI run once waited over 20 s for it
    right after opening a live page)."""
    ok = page.get_by_test_id("stSidebar").get_by_text(t("app.key.ok", "en"))
    for attempt in range(3):
        box = page.get_by_test_id("stSidebar").get_by_label(t("app.key.label", "en"),
                                                             exact=True)
        box.fill(key, timeout=LOAD_MS)
        box.press("Enter")
        try:
            ok.wait_for(state="visible", timeout=10_000)
            return
        except Exception:
            if attempt == 2:
                raise


# ------------------------------------------------------------------- tests
def test_viewer_cannot_control_presenter_can_and_both_watch(keyed_server, contexts,
                                                            artifacts):
    try:
        _watch_then_stop(keyed_server, contexts, artifacts)
    finally:
        stop_all(keyed_server, contexts)


def stop_all(base, contexts):
    """Leave no run training for the next test (a presenter stops it)."""
    if "running" not in runs_on_disk() and "paused" not in runs_on_disk():
        return
    page = contexts()
    open_page(page, base + "/", live=True)
    enter_key(page)
    if status(page) in ("running", "paused"):
        click_enabled(page, main_button(page, "app.ctl.stop"), "Stop button")
        poll(lambda: status(page), lambda s: s not in ("running", "paused"), 30, "stop")


def _watch_then_stop(keyed_server, contexts, artifacts):
    presenter = contexts()
    open_page(presenter, keyed_server + SMALL_URL)
    assert working_controls(presenter) == []  # before the key: a viewer like any other
    enter_key(presenter)
    click_enabled(presenter, sidebar_button(presenter, "cfg.start"), "Start button")
    poll(lambda: status(presenter), lambda s: s == "running", 30,
         f"the run to be running ({runs_on_disk()})")

    viewer = contexts()
    open_page(viewer, keyed_server + "/", live=True)
    poll(lambda: status(viewer), lambda s: s == "running", 30, "the viewer to see it running")
    v1, p1 = step_count(viewer) or 0, step_count(presenter) or 0
    v2 = poll(lambda: step_count(viewer), lambda s: s is not None and s > v1, 30,
              f"the viewer's step count to grow past {v1}")
    p2 = poll(lambda: step_count(presenter), lambda s: s is not None and s > p1, 30,
              f"the presenter's step count to grow past {p1}")
    assert working_controls(viewer) == [], working_controls(viewer)
    assert t("app.ctl.stop", "en") in working_controls(presenter), "the presenter cannot stop"
    # a fresh tab loads plotly.js (4.8 MB) from a server that yields to training
    poll(lambda: viewer.locator(".js-plotly-plot").count(), lambda n: n >= 2, 30,
         "the viewer's live charts to be drawn")
    viewer.screenshot(path=str(artifacts / "hardening_viewer.png"))

    # every tab closes: the run trains on without watchers
    last = max(v2, p2)
    presenter.context.close()
    viewer.context.close()
    time.sleep(2)
    presenter = contexts()
    open_page(presenter, keyed_server + "/", live=True)
    assert status(presenter) == "running"
    poll(lambda: step_count(presenter), lambda s: s is not None and s > last, 20,
         f"steps past {last} after every tab closed")

    # the presenter enters the key again and stops the run
    enter_key(presenter)
    click_enabled(presenter, main_button(presenter, "app.ctl.stop"), "Stop button")
    poll(lambda: status(presenter), lambda s: s == "stopped", 30, "the presenter: stopped")
    assert_no_exception(presenter, "after stop")
    presenter.screenshot(path=str(artifacts / "hardening_presenter_stopped.png"))
    assert runs_on_disk() == ["stopped"]


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
    file_input = page.get_by_test_id("stSidebar").locator('input[type="file"]')
    file_input.set_input_files(files=[{"name": "big.txt", "mimeType": "text/plain",
                                       "buffer": b"abc " * ((MAX_CORPUS_BYTES + 200_000) // 4)}])
    # the app's refusal stands in the main area, where the eye is
    alert = page.get_by_test_id("stMain").get_by_test_id("stAlert").filter(
        has_text="too large")
    alert.first.wait_for(state="visible", timeout=30_000)
    assert "the limit is 5 MB" in alert.first.inner_text()
    assert_no_exception(page, "big upload")
    assert runs_on_disk() == ["stopped"]  # nothing started


PREFIX = "<b>x</b>"   # every character of it is in TAGS: a prefix the model knows
TAGS = ('<script>window.__xss=1</script> <img src=x onerror="window.__xss=2"> '
        '<b>bold</b> <a href="javascript:window.__xss=3">link</a> ') * 30


def test_html_in_a_pasted_corpus_is_shown_as_text(keyed_server, contexts, artifacts):
    stop_all(keyed_server, contexts)
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
    click_enabled(page, sidebar_button(page, "cfg.start"), "Start button")
    try:
        poll(lambda: status(page), lambda s: s == "running", 30,
             f"the HTML run to be running ({runs_on_disk()})")
        # the run before this one may still be drawn (stale) for a moment: wait for ours
        samples = page.locator('[data-testid="stMain"] .samples .sample')
        try:
            samples.filter(has_text=PREFIX).first.wait_for(state="visible", timeout=40_000)
        except Exception:
            shown = [samples.nth(i).inner_text() for i in range(min(3, samples.count()))]
            pytest.fail(f"no sample shows the prefix {PREFIX!r} as text; samples: {shown}")
        inside = page.evaluate("""() => {
            const s = document.querySelectorAll('[data-testid="stMain"] .samples');
            let n = 0;
            for (const el of s) n += el.querySelectorAll('script, img, a, b, iframe').length;
            return n;
        }""")
        assert inside == 0, f"{inside} HTML elements were made from the corpus"
        assert page.evaluate("() => window.__xss === undefined"), "markup from the corpus ran"
        assert_no_exception(page, "html run")
        try:  # only for the screenshot: the live fragment redraws (and detaches) it each second
            samples.filter(has_text=PREFIX).first.scroll_into_view_if_needed(timeout=5000)
        except Exception:
            pass
        page.screenshot(path=str(artifacts / "hardening_html_as_text.png"))
    finally:
        stop_all(keyed_server, contexts)
