"""A lecture in a real browser: projector sizes, both languages, a presenter
key, a student's browser following the lecturer, the explosion a class can
watch. One server for the module, with a presenter key; screenshots of each
page at both projector sizes land in tests/artifacts/lecture_*.png."""
from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlsplit

import pytest

from charrnn.i18n import t
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, safe_name
from tests.browser.test_app_browser import LOAD_TIMEOUT_MS, assert_no_error, poll, wait_loaded
from tests.page_js import SIZED_JS
from tests.streamlit_server import streamlit_run

pytestmark = pytest.mark.browser

KEY = "lecture-key-7"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
# each page's main figure: the chart whose title starts with these words
MAIN = {"train": "fig.grad.title", "gradients": "fig.grad.title",
        "hidden_state": "fig.hidden.title", "unrolled": None}

# the box of the chart titled `match` (the unrolled grid when match is null),
# whether it has drawn data, and the viewport
BOX_JS = """(match) => {
  let el = null;
  if (match === null) {
    const g = document.querySelector('.st-key-unr_grid .js-plotly-plot');
    el = g;
  } else {
    for (const p of document.querySelectorAll('.js-plotly-plot')) {
      const t = p.layout && p.layout.title;
      const text = t && (typeof t === 'string' ? t : t.text);
      if (text && text.startsWith(match)) { el = p; break; }
    }
  }
  if (!el || !el._fullData) return null;
  const r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          traces: el._fullData.length, vw: window.innerWidth, vh: window.innerHeight};
}"""

# the gradient chart's largest y on its first trace, and its trace names
GRAD_JS = """(match) => {
  for (const p of document.querySelectorAll('.js-plotly-plot')) {
    const t = p.layout && p.layout.title;
    const text = t && (typeof t === 'string' ? t : t.text);
    if (text && text.startsWith(match) && p._fullData && p._fullData.length) {
      const ys = (p._fullData[0].y || []).map(Number).filter(Number.isFinite);
      return {max: ys.length ? Math.max(...ys) : null,
              names: p._fullData.map(d => d.name || '')};
    }
  }
  return null;
}"""

HEAD_JS = """() => {
  const h = document.querySelector('.st-key-lecture_head');
  return h ? h.innerText : null;
}"""


@pytest.fixture(scope="module")
def key_server(tmp_path_factory, artifacts):
    env = dict(os.environ, CHARRNN_RUNS_DIR=str(tmp_path_factory.mktemp("runs")),
               CHARRNN_PRESENTER_KEY=KEY)
    with streamlit_run(artifacts / "server-lecture.log", env) as (base, _proc):
        yield base


def close(context, artifacts, name):
    """Close a browser context; a test failing meanwhile leaves its pages' screenshots."""
    if sys.exc_info()[0] is not None:
        for i, pg in enumerate(context.pages):
            try:
                pg.screenshot(path=str(artifacts / f"{safe_name(name)}-FAILED-{i}.png"))
            except Exception:
                pass
    context.close()


def new_page(browser, size="720p", lang="en"):
    w, h = SIZES[size]
    context = browser.new_context(viewport={"width": w, "height": h},
                                  locale="zh-CN" if lang == "zh" else "en-US")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context, context.new_page()


def goto(page, base, name, lang="en", present=True):
    """Open a page by its link, once: it lands there, also after the rerun
    of the bridge's first report (in presentation mode)."""
    target = url(base, name, lang, present)
    page.goto(target, timeout=LOAD_TIMEOUT_MS)
    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=LOAD_TIMEOUT_MS)
    if present:
        poll(lambda: page.evaluate(SIZED_JS), bool, 30, f"{name} drawn with the window's size")
    path = "/" if name == "train" else f"/{name}"
    assert urlsplit(page.url).path == path, f"the link to {path} landed on {page.url}"


def url(base, name, lang="en", present=True):
    path = "/" if name == "train" else f"/{name}"
    query = "&".join(q for q in (f"lang={lang}", "present=1" if present else "") if q)
    return f"{base}{path}?{query}"


def h1(page) -> str | None:
    return page.evaluate("""() => {
      const h = document.querySelector('[data-testid="stMain"] h1');
      return h ? h.textContent.trim() : null; }""")


def head_text(page) -> str:
    return page.evaluate(HEAD_JS) or ""


def enter_key(page, lang="en"):
    """Through the strip's key box (the sidebar is closed in presentation mode)."""
    head = page.locator(".st-key-lecture_head")
    head.get_by_role("button", name=t("app.key.label", lang)).click()
    box = page.locator('input[type="password"]').filter(visible=True).first
    box.fill(KEY)
    box.press("Enter")
    poll(lambda: head_text(page), lambda s: t("lec.demo", lang) in s, 20,
         "the strip to offer the next demo (the key accepted)")


def start_preset(page, preset, lang="en"):
    head = page.locator(".st-key-lecture_head")
    head.get_by_role("button", name=t("lec.demo", lang)).click()
    page.get_by_test_id("stPopoverBody").get_by_role(
        "button", name=t(f"cfg.preset.{preset}", lang), exact=True).click()
    started = time.monotonic()
    poll(lambda: head_text(page), lambda s: t("status.running", lang) in s, 30,
         "the new run to be running")
    return started


def main_box(page, name, lang):
    key = MAIN[name]
    return page.evaluate(BOX_JS, t(key, lang).split("{")[0].strip() if key else None)


def inside(box) -> bool:
    return (box is not None and box["traces"] > 0 and box["top"] >= 0 and box["left"] >= 0
            and box["bottom"] <= box["vh"] + 0.5 and box["right"] <= box["vw"] + 0.5)


# -------------------------------------------------------------------- tests
def test_lecturer_starts_a_run_from_the_strip(browser, key_server, artifacts):
    """Presentation mode: the key box and the next demo are in the strip;
    one preset click starts training."""
    context, page = new_page(browser)
    try:
        page.goto(url(key_server, "train"), timeout=LOAD_TIMEOUT_MS)
        wait_loaded(page)
        assert t("lec.demo", "en") not in head_text(page), "a watcher is offered the next demo"
        enter_key(page)
        start_preset(page, "d2l")
        assert_no_error(page, "start from the strip")
    finally:
        close(context, artifacts, f"lecture-{time.time():.0f}")


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_main_figure_fits_the_projector(browser, key_server, artifacts, size, lang):
    """Train, Gradients, Hidden state and Unrolled RNN: the main figure is
    entirely inside the viewport, without scrolling, while a run trains."""
    context, page = new_page(browser, size, lang)
    try:
        page.goto(url(key_server, "train", lang), timeout=LOAD_TIMEOUT_MS)
        wait_loaded(page)
        enter_key(page, lang)
        for name in MAIN:
            # not wait_loaded: a live page whose fragment takes about a second to
            # run is seldom idle on a busy machine; the figure is what counts
            goto(page, key_server, name, lang)
            box = poll(lambda: main_box(page, name, lang), inside, 60,
                       f"{name}'s main figure inside the {size} viewport ({lang})")
            assert_no_error(page, f"{name} ({size}, {lang})")
            assert box["bottom"] - box["top"] >= 250, f"{name}: the figure is squeezed: {box}"
            page.screenshot(path=str(artifacts / safe_name(f"lecture_{name}_{size}_{lang}.png")))
        # the unrolled grid: no two labels overlap, in any phase group of this
        # run nor any phase of d2l's example
        page.get_by_test_id("stMainBlockContainer").get_by_text(
            t("unr.source.run", lang), exact=True).click()
        poll(lambda: grid_state(page), lambda s: s is not None and s["last"] == 73, 20,
             "this run's grid (35 steps: 74 phases)")
        walk_phases(page, f"this run, {size}, {lang}", 6)
        page.get_by_test_id("stMainBlockContainer").get_by_text(
            t("unr.source.example", lang), exact=True).click()
        poll(lambda: grid_state(page), lambda s: s is not None and s["k"] == 0, 20,
             "d2l's example at its first phase")
        walk_phases(page, f"d2l example, {size}, {lang}", 14)
        page.screenshot(path=str(artifacts / safe_name(f"lecture_unrolled_example_{size}_{lang}.png")))
    finally:
        close(context, artifacts, f"lecture-{time.time():.0f}")


OVERLAP_JS = """() => {
  const root = document.querySelector('.st-key-unr_grid .js-plotly-plot');
  if (!root || !root._fullLayout) return null;
  const boxes = [];
  for (const e of root.querySelectorAll('g.annotation text, g.textpoint text')) {
    const txt = (e.textContent || '').trim();
    const r = e.getBoundingClientRect();
    if (txt && r.width >= 1 && r.height >= 1) boxes.push({txt, l: r.left, r: r.right, t: r.top, b: r.bottom});
  }
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
    if (w > 1 && h > 1) hits.push([a.txt, b.txt]);
  }
  const slider = document.querySelector('.st-key-unr_slider input[type="range"]');
  return {n: boxes.length, hits, rev: root.dataset.rev,
          k: slider ? Number(slider.value) : null, last: slider ? Number(slider.max) : null};
}"""


def grid_state(page):
    return page.evaluate(OVERLAP_JS)


def assert_no_overlap(page, where):
    state = poll(lambda: grid_state(page),
                 lambda s: s is not None and s["n"] > 20 and s["k"] is not None, 30,
                 f"the unrolled grid's labels ({where})")
    assert not state["hits"], f"{where}: labels of the unrolled grid overlap: {state['hits'][:8]}"
    return state


def step_with_key(page, key="ArrowRight"):
    """Press a key; wait until the grid shows another phase."""
    before = grid_state(page)
    page.keyboard.press(key)
    return poll(lambda: grid_state(page),
                lambda s: s is not None and s["k"] != before["k"] and s["rev"] != before["rev"],
                20, f"the grid to move on {key}")


def walk_phases(page, where, expected):
    """From the first phase to the last with the right arrow, checking the
    labels at each; `expected`: how many stops (phase groups or phases)."""
    state = assert_no_overlap(page, where)
    seen = 1
    while state["k"] < state["last"]:
        step_with_key(page)
        state = assert_no_overlap(page, where)
        seen += 1
    assert seen == expected, f"{where}: {seen} stops from the first phase to the last"


FOLLOW_S = 2.0   # a student's page follows the lecturer within this


def test_a_student_follows_the_lecturer(browser, key_server, artifacts):
    """The lecturer (with the key) moves to Gradients and steps the unrolled
    diagram; the student's page follows within 2 s; the lecturer reloads and
    still controls the run."""
    lecturer_ctx, lecturer = new_page(browser)
    student_ctx, student = new_page(browser, "1080p")
    try:
        lecturer.goto(url(key_server, "train"), timeout=LOAD_TIMEOUT_MS)
        wait_loaded(lecturer)
        enter_key(lecturer)
        student.goto(url(key_server, "train", present=False), timeout=LOAD_TIMEOUT_MS)
        wait_loaded(student)
        assert not student.get_by_test_id("stMainBlockContainer").get_by_role(
            "button", name=t("app.ctl.pause", "en"), exact=True).count(), \
            "the student is offered the run's buttons"

        goto(lecturer, key_server, "gradients")
        moved = time.monotonic()
        poll(lambda: h1(student), lambda s: s == t("grad.title", "en"), 10,
             "the student on Gradients")
        took = time.monotonic() - moved
        assert took <= FOLLOW_S, f"the student followed to Gradients after {took:.1f} s"

        goto(lecturer, key_server, "unrolled")
        poll(lambda: grid_state(lecturer), lambda s: s is not None and s["n"] > 20, 30,
             "the lecturer's unrolled grid")
        poll(lambda: grid_state(student), lambda s: s is not None and s["n"] > 20, 30,
             "the student's unrolled grid")
        for _ in range(2):
            lecturer.locator(".st-key-unr_steps").get_by_role(
                "button", name=t("unr.forward", "en"), exact=True).click()
            k = poll(lambda: grid_state(lecturer), lambda s: s is not None and s["k"] > 0,
                     20, "the lecturer's step")["k"]
            moved = time.monotonic()
            poll(lambda: grid_state(student), lambda s: s is not None and s["k"] == k, 10,
                 f"the student's diagram at phase {k}")
            took = time.monotonic() - moved
            assert took <= FOLLOW_S, f"the student followed the step after {took:.1f} s"
        student.screenshot(path=str(artifacts / "lecture_student_follows.png"))

        lecturer.reload(timeout=LOAD_TIMEOUT_MS)
        wait_loaded(lecturer)
        text = head_text(lecturer)
        assert t("lec.demo", "en") in text and t("app.ctl.pause", "en") in text, \
            f"after a reload the lecturer lost control: the strip says {text!r}"
        assert "/unrolled" in lecturer.url and KEY not in lecturer.url
    finally:
        close(lecturer_ctx, artifacts, "lecture-follow-lecturer")
        close(student_ctx, artifacts, "lecture-follow-student")


EXPLODE_WITHIN_S = 30


def test_the_explosion_a_class_can_watch(browser, key_server, artifacts):
    """The no-clipping preset: its gradient norm passes 10x the clipped
    preset's theta within 30 s of Start, and the run ends "diverged" with
    the marker on the chart."""
    from charrnn.config import RunConfig
    theta = RunConfig().theta
    context, page = new_page(browser)
    try:
        page.goto(url(key_server, "train"), timeout=LOAD_TIMEOUT_MS)
        wait_loaded(page)
        enter_key(page)   # a fresh browser first follows the lecturer's last page
        goto(page, key_server, "train")
        title = t("fig.grad.title", "en")
        started = start_preset(page, "explode")
        grad = poll(lambda: page.evaluate(GRAD_JS, title),
                    lambda g: g is not None and g["max"] is not None and g["max"] > 10 * theta,
                    EXPLODE_WITHIN_S + 10, "the gradient norm to pass 10 θ")
        took = time.monotonic() - started
        assert took <= EXPLODE_WITHIN_S, f"the norm passed 10 θ after {took:.1f} s"
        assert any(n.startswith("θ = ") for n in grad["names"]), \
            f"no reference θ line on the chart: {grad['names']}"
        poll(lambda: head_text(page), lambda s: t("status.diverged", "en") in s, 60,
             "the run to end diverged")
        marker = t("fig.grad.diverged", "en", step=0).split("0")[0]
        poll(lambda: page.evaluate(GRAD_JS, title),
             lambda g: g is not None and any(n.startswith(marker) for n in g["names"]), 20,
             "the divergence marker on the chart")
        page.screenshot(path=str(artifacts / "lecture_explosion_720p_en.png"))
    finally:
        close(context, artifacts, f"lecture-{time.time():.0f}")
