"""The app in a real browser (Playwright + Debian Chromium) on a fresh server.

The tests run in file order against one server started for this module:
deep links first (the first request a new server sees must be a deep link),
then a bad upload, live training, pause / step / resume / stop, the run
picker after Stop, a prepared link, every page again now that runs exist, and
presentation mode in Chinese. Screenshots land in tests/artifacts/, named
after the test and stage; a failing test leaves <test>-FAILED.png there.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from charrnn.i18n import t
from tests.page_js import METRIC_JS, STATUS_JS

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
LOAD_TIMEOUT_MS = 45_000     # first page of a fresh server: torch import, first script run
IDLE_TIMEOUT_MS = 30_000
TRAIN_URL = "/?num_epochs=3000&num_hiddens=64&batch_size=8&num_steps=10"
GRAD_TITLE = t("fig.grad.title", "en")          # "Gradient L2 norm before and after clipping"
GRAD_MATCH = "Gradient L2 norm"
LOSS_MATCH = "Training loss"
assert GRAD_MATCH in GRAD_TITLE
CAP = 2000  # charrnn.figures.MAX_POINTS: long series are thinned to about this many points


def app_pages() -> list[str]:
    """The url_paths of the app's st.navigation, read from its PAGES list.

    PAGES lives in app.py or a module under charrnn/ (charrnn/ui/nav.py at the
    time of writing); a new page added there is covered automatically."""
    sources = [p.read_text("utf-8") for p in
               [REPO / "app.py"] + sorted((REPO / "charrnn").rglob("*.py"))]
    names = []
    for src in sources:
        block = re.search(r"^PAGES\s*=\s*\[(.*?)\]\s*$", src, re.S | re.M)
        names = re.findall(r"\(\s*[\"'](\w+)[\"']", block.group(1)) if block else []
        if names:
            break
    else:  # no PAGES list: literal st.Page(..., url_path="...") calls
        names = [n for src in sources for n in re.findall(r"url_path\s*=\s*[\"'](\w+)[\"']", src)]
    assert {"train", "hidden_state", "gradients", "generate"} <= set(names), \
        f"could not read the pages from a PAGES list in app.py or charrnn/ (found {names})"
    return names


PAGES = app_pages()
DEFAULT_PAGE = "train"


def url_of(name: str) -> str:
    return "/" if name == DEFAULT_PAGE else f"/{name}"


def shot(page, artifacts, name: str, full_page=False):
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=full_page, timeout=15_000)


# --------------------------------------------------------------- page state
# idle: no script run in progress, and no widget still a loading skeleton
IDLE_JS = """() => !document.querySelector(
    '[data-testid="stStatusWidget"], [data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]')"""


def wait_loaded(page, timeout_ms=LOAD_TIMEOUT_MS):
    """Wait for the page title, then for Streamlit to finish the script run.

    The status widget ("Running…") exists only while a script or fragment
    runs; a live page reruns its fragment every second, so this returns at
    the first moment none runs."""
    page.locator('[data-testid="stMain"] h1').first.wait_for(state="visible", timeout=timeout_ms)
    # Streamlit shows "Running…" only after a short delay, so ask twice
    for _ in range(2):
        page.wait_for_function(IDLE_JS, timeout=IDLE_TIMEOUT_MS, polling=100)
        page.wait_for_timeout(400)
    page.wait_for_function(IDLE_JS, timeout=IDLE_TIMEOUT_MS, polling=100)


def nav_titles(page) -> list[str]:
    """The sidebar navigation's link texts (icon name + title: the icon is a ligature)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')]
        .map(a => (a.textContent || '').trim())""")


def assert_no_error(page, where: str):
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, f"{where}: the app shows an exception:\n{exc.first.inner_text()}"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, f"{where}: 'Traceback' on the page:\n{body[:3000]}"


def assert_app_sidebar(page, where: str, lang="en"):
    """The app's own navigation and language switch, not the legacy pages/ list."""
    titles = [t(f"page.{name}", lang) for name in PAGES]
    links = nav_titles(page)
    for title in titles:
        assert any(link.endswith(title) for link in links), (
            f"{where}: sidebar navigation {links} lacks {title!r}: is Streamlit routing "
            f"through its legacy pages/ folder (no shared sidebar)?")
    assert not any(link.endswith(("app", "hidden state")) for link in links), \
        f"{where}: sidebar lists file names {links}: the legacy pages/ router is in use"
    sidebar = page.locator('[data-testid="stSidebar"]').text_content()
    assert "English" in sidebar and "中文" in sidebar, \
        f"{where}: no language switch (English / 中文) in the sidebar: {sidebar[:500]!r}"


def check_page(page, artifacts, base, name, shot_name, lang="en"):
    page.goto(base + url_of(name), timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    where = f"{url_of(name)}"
    assert_no_error(page, where)
    assert_app_sidebar(page, where, lang)
    active = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
    if active.count():  # which link is marked current is a detail of Streamlit's markup
        assert active.first.text_content().strip().endswith(t(f"page.{name}", lang)), \
            f"{where}: the current page in the navigation is {active.first.text_content()!r}"
    shot(page, artifacts, shot_name)


# ----------------------------------------------------------------- training
GRAD_JS = """(match) => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title;
    const text = t && (typeof t === 'string' ? t : t.text);
    if (text && text.includes(match) && el._fullData && el._fullData.length) {
      const x = el._fullData[0].x || [];
      return {n: x.length, last: x.length ? Number(x[x.length - 1]) : null,
              below_fold: el.getBoundingClientRect().top - window.innerHeight};
    }
  }
  return null;
}"""

SCROLL_JS = """(match) => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title;
    const text = t && (typeof t === 'string' ? t : t.text);
    if (text && text.includes(match)) { el.scrollIntoView({block: 'center'}); return true; }
  }
  return false;
}"""



# The gradient chart's node is kept in window.__gradChart; the box of its
# plot area is where a user drags to zoom. KEPT_JS then tells whether the
# page still shows that very node, its x range and its last step.
MARK_JS = """(match) => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title;
    const text = t && (typeof t === 'string' ? t : t.text);
    if (text && text.includes(match)) {
      window.__gradChart = el;
      el.scrollIntoView({block: 'center'});
      const r = el.querySelector('.nsewdrag').getBoundingClientRect();
      return {x: r.x, y: r.y, w: r.width, h: r.height};
    }
  }
  return null;
}"""

KEPT_JS = """() => {
  const el = window.__gradChart;
  const x = el && el._fullData && el._fullData.length ? el._fullData[0].x : [];
  return {attached: !!el && el.isConnected, range: el && el.layout ? el.layout.xaxis.range : null,
          last: x.length ? Number(x[x.length - 1]) : null};
}"""

PICKER_JS = """() => {
  const i = document.querySelector(
    '[data-testid="stMainBlockContainer"] [data-testid="stSelectbox"] input');
  return i ? i.value : null;
}"""


def grad_points(page):
    """{n, last} of the gradient-norm chart's first trace, or None."""
    return page.evaluate(GRAD_JS, GRAD_MATCH)


def step_metric(page):
    value = page.evaluate(METRIC_JS, t("app.m.step", "en"))
    if value is None:
        return None
    digits = re.sub(r"[^0-9]", "", value)
    return int(digits) if digits else None


def status(page):
    """The run header's badge: the first word of its h3 ("running", "paused", ...)."""
    text = page.evaluate(STATUS_JS) or ""
    return text.split()[0] if text.split() else None


def poll(fn, cond, timeout_s, what, interval=0.25):
    """Call fn until cond(value); fail with the last value after timeout_s."""
    deadline = time.monotonic() + timeout_s
    value = fn()
    while not cond(value):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}; last value {value!r}")
        time.sleep(interval)
        value = fn()
    return value


def control(page, label_key):
    """A run-control button in the main area (the status widget has its own 'Stop')."""
    return page.get_by_test_id("stMainBlockContainer").get_by_role(
        "button", name=t(label_key, "en"), exact=True)


def enabled(button) -> bool:
    return button.count() == 1 and button.is_enabled()


def start_training(page, base):
    page.goto(base + TRAIN_URL, timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    assert_no_error(page, TRAIN_URL)
    start = page.get_by_test_id("stSidebar").get_by_role("button", name=t("cfg.start", "en"),
                                                         exact=True)
    start.click()
    # While the page swaps a shown (stopped) run for the new one, the new
    # badge can sit beside the old run's buttons and numbers for a moment:
    # an enabled Pause is the new run's own.
    poll(lambda: (status(page), enabled(control(page, "app.ctl.pause"))),
         lambda s: s == ("running", True), 20, "the run to be running with Pause enabled")
    poll(lambda: step_metric(page), lambda s: s is not None and s > 0, 30,
         "the Step metric to leave 0")


def stop_training(page):
    """Press Stop once it is the active run's (a stale, disabled one may still
    show), then wait for the badge to say the run ended."""
    stop = control(page, "app.ctl.stop")
    ended = ("stopped", "finished")
    state = poll(lambda: (status(page), enabled(stop)), lambda s: s[0] in ended or s[1], 20,
                 "an enabled Stop or an ended run")
    if state[0] not in ended:
        stop.click()
    poll(lambda: status(page), lambda s: s in ended, 20, "the run to stop")


# -------------------------------------------------------------------- tests
def test_deep_links_on_a_fresh_server(page, server, artifacts):
    """The very first request is a deep link; then every page of app.py's PAGES."""
    first = next(name for name in PAGES if name != DEFAULT_PAGE)
    order = [first, DEFAULT_PAGE] + [n for n in PAGES if n not in (first, DEFAULT_PAGE)]
    check_page(page, artifacts, server, first, f"deeplink_first_{first}")
    for name in order:
        check_page(page, artifacts, server, name, f"deeplink_{name}")


def test_upload_of_a_binary_file_is_refused(page, server, artifacts):
    page.goto(server + "/", timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(t("cfg.corpus.upload", "en"), exact=True).click()
    file_input = sidebar.locator('input[type="file"]')
    file_input.wait_for(state="attached", timeout=15_000)
    file_input.set_input_files(files=[{"name": "binary.txt", "mimeType": "text/plain",
                                       "buffer": b"GIF89a\x00\x00\x01\x00" * 20}])
    # the refusal stands where the eye is: the main area, not the sidebar
    alert = page.get_by_test_id("stMain").get_by_test_id("stAlert").filter(has_text="looks binary")
    alert.first.wait_for(state="visible", timeout=20_000)
    assert "looks binary" in alert.first.inner_text()
    assert_no_error(page, "upload")
    alert.first.scroll_into_view_if_needed()
    shot(page, artifacts, "upload_binary")


def test_training_streams_gradient_norm(page, server, artifacts):
    start_training(page, server)
    try:
        loss = poll(lambda: page.evaluate(GRAD_JS, LOSS_MATCH), lambda g: g and g["n"] > 0, 30,
                    f"a '{LOSS_MATCH}' chart with points")
        # a chart below the fold waits to be seen before it is redrawn (a long
        # page's charts would otherwise cost the browser CPU that training needs)
        # its first figure is drawn wherever it is (a busy server may build it a frame later)
        unseen = poll(lambda: grad_points(page), lambda g: g and g["n"] > 0, 30,
                      "the gradient chart's first figure")
        if unseen["below_fold"] > 250:   # live_plot.js: 200 px ahead
            moved = loss["last"]
            for _ in range(2):   # two redraws of the page: the first may be under way
                moved = poll(lambda: page.evaluate(GRAD_JS, LOSS_MATCH),
                             lambda g: g is not None   # a redraw in progress: no data
                             and g["last"] > max(moved, unseen["last"] or 0), 15,
                             "the loss chart to move on")["last"]
            assert grad_points(page)["last"] == unseen["last"], \
                "a chart nobody can see was redrawn"
        # ... and is current once scrolled to; the run is young: the chart
        # holds every step until about CAP points
        assert page.evaluate(SCROLL_JS, GRAD_MATCH)
        seen_at = poll(lambda: page.evaluate(GRAD_JS, LOSS_MATCH), lambda g: g and g["n"] > 0,
                       10, "the loss chart (a rerun of the page may redraw it)")["last"]
        first = poll(lambda: grad_points(page), lambda g: g and g["n"] > 0
                     and g["last"] >= seen_at, 10, "the gradient chart to catch up once seen")
        step0 = step_metric(page)
        later = poll(lambda: grad_points(page),
                     lambda g: g is not None and g["last"] > first["last"]
                     and (g["n"] > first["n"] or first["n"] >= CAP - 10),
                     15, f"the gradient-norm chart to gain points (first: {first})")
        assert later["n"] <= CAP + 10, f"the chart is not thinned: {later['n']} points"
        # the chart is updated in place: the same node gains points, and a zoom
        # the user chose stays while it follows the run
        for _ in range(3):   # a redraw that lands mid-drag may cancel it: drag again
            box = page.evaluate(MARK_JS, GRAD_MATCH)
            page.mouse.move(box["x"] + 0.3 * box["w"], box["y"] + 0.5 * box["h"])
            page.mouse.down()
            page.mouse.move(box["x"] + 0.5 * box["w"], box["y"] + 0.5 * box["h"], steps=8)
            page.mouse.up()
            zoomed = page.evaluate(KEPT_JS)
            if zoomed["attached"] and zoomed["range"][1] < later["last"]:
                break
        assert zoomed["attached"] and zoomed["range"][1] < later["last"], \
            f"dragging across the chart did not zoom it: {zoomed}"
        kept = poll(lambda: page.evaluate(KEPT_JS), lambda k: not k["attached"] or
                    k["last"] > zoomed["last"], 15, "the zoomed chart to gain points")
        assert kept["attached"], "the live chart was replaced by a new one instead of updated"
        assert kept["range"] == zoomed["range"], \
            f"the zoom was lost: x range {kept['range']}, zoomed to {zoomed['range']}"
        poll(lambda: step_metric(page), lambda s: s is not None and s > step0, 15,
             f"the Step metric to grow past {step0}")
        assert_no_error(page, "training")
        shot(page, artifacts, "training_running")
        page.evaluate(SCROLL_JS, GRAD_MATCH)  # in one go: the fragment redraws every second
        page.wait_for_timeout(300)
        shot(page, artifacts, "training_gradnorm")
    finally:
        stop_training(page)


def on_disk(server, page) -> tuple[int | None, int | None]:
    """(the step of the run's last checkpoint, the last step of its log) as the
    server wrote them: a worker that blocks (paused, or after a granted step)
    checkpoints where it stands, and a stopped run's log is all it trained."""
    from charrnn import checkpoint
    from tests.browser.conftest import RUNS_DIRS
    run_id = re.search(r"[?&]run=([^&#]+)", page.url)
    folder = RUNS_DIRS[server] / run_id.group(1) if run_id else None
    if folder is None or not folder.is_dir():
        return None, None
    resume = checkpoint.read_resume(folder)
    try:
        with np.load(folder / "metrics.npz", allow_pickle=False) as z:
            names = [str(n) for n in z["step_names"]]
            steps = z["steps"][:, names.index("step")]
    except (OSError, ValueError, KeyError):
        steps = ()
    return (None if resume is None else int(resume["step"]),
            int(steps[-1]) if len(steps) else None)


def test_pause_step_resume_stop(page, server, artifacts):
    """Pause stops the training where the page says it is, Step trains exactly
    one minibatch, Resume goes on; stopped while paused, the run's log ends at
    the step the page showed. Proof from the server's own files, not from
    time: a paused worker checkpoints where it waits."""
    start_training(page, server)
    try:
        control(page, "app.ctl.pause").click()
        poll(lambda: status(page), lambda s: s == "paused", 15, "the badge to say paused")
        control(page, "app.ctl.resume").click()
        poll(lambda: status(page), lambda s: s == "running", 15, "the badge to say running")
        s0 = poll(lambda: step_metric(page), lambda s: s is not None, 15, "the Step metric")
        poll(lambda: step_metric(page), lambda s: s > s0, 15, f"training to go on past {s0}")
        shot(page, artifacts, "pause_resumed")

        control(page, "app.ctl.pause").click()
        poll(lambda: status(page), lambda s: s == "paused", 15, "the badge to say paused")
        # the worker waits at s1 and the page shows s1 (its chart too)
        s1 = poll(lambda: (step_metric(page), on_disk(server, page)[0]),
                  lambda v: v[0] is not None and v[0] == v[1], 20,
                  "the page's step and the paused worker's checkpoint to agree")[0]
        page.evaluate(SCROLL_JS, GRAD_MATCH)   # a chart out of view waits to be seen
        poll(lambda: grad_points(page), lambda g: g is not None and g["last"] == s1, 15,
             f"the gradient chart to end at step {s1}")
        assert status(page) == "paused"
        assert_no_error(page, "paused")
        shot(page, artifacts, "pause_paused")

        control(page, "app.ctl.step").click()
        poll(lambda: (step_metric(page), on_disk(server, page)[0]),
             lambda v: v == (s1 + 1, s1 + 1), 20,
             f"the page and the worker, waiting again, at step {s1 + 1}")
        assert status(page) == "paused"
        shot(page, artifacts, "pause_stepped")

        control(page, "app.ctl.stop").click()
        poll(lambda: status(page), lambda s: s == "stopped", 20, "the badge to say stopped")
        # paused after one Step: a worker that trained on leaves a longer log
        poll(lambda: on_disk(server, page)[1], lambda last: last == s1 + 1, 15,
             f"the stopped run's log on disk to end at step {s1 + 1}")
        assert step_metric(page) == s1 + 1
        assert_no_error(page, "stopped")
        shot(page, artifacts, "pause_stopped")
    finally:
        if status(page) not in ("stopped", "finished"):
            stop_training(page)


def test_a_pause_in_another_tab_changes_the_buttons_here(page, server, artifacts):
    """The run's buttons sit outside the live fragment (a click inside one can
    wait behind its rerun). Each tab must still swap Pause for Resume when
    the run is paused from another tab, and back."""
    start_training(page, server)
    other = page.context.new_page()
    try:
        other.goto(page.url, timeout=LOAD_TIMEOUT_MS)
        wait_loaded(other)
        poll(lambda: status(other), lambda s: s == "running", 20, "the other tab to see running")
        control(other, "app.ctl.pause").click()
        poll(lambda: status(page), lambda s: s == "paused", 15, "this tab's badge to say paused")
        poll(lambda: control(page, "app.ctl.resume").count(), lambda n: n == 1, 15,
             "this tab's Resume button")
        assert control(page, "app.ctl.pause").count() == 0, "a stale Pause beside Resume"
        assert control(page, "app.ctl.step").is_enabled(), "Step stayed disabled while paused"
        shot(page, artifacts, "paused_elsewhere")
        control(page, "app.ctl.resume").click()
        poll(lambda: status(other), lambda s: s == "running", 15, "the other tab to say running")
        poll(lambda: control(other, "app.ctl.pause").count(), lambda n: n == 1, 15,
             "the other tab's Pause button")
        assert control(other, "app.ctl.resume").count() == 0, "a stale Resume beside Pause"
    finally:
        other.close()
        stop_training(page)


def test_start_after_a_finished_run_shows_one_set_of_controls(page, server, artifacts):
    """Start while a stopped run is shown: the page swaps the stopped run for
    the new one. The stopped run's buttons must not linger beside the new
    ones while that rerun goes on (they did: two "Pause" buttons, one stale,
    for most of a second)."""
    start_training(page, server)
    stop_training(page)
    pause = control(page, "app.ctl.pause")
    start = page.get_by_test_id("stSidebar").get_by_role("button", name=t("cfg.start", "en"),
                                                         exact=True)
    try:
        start.click()
        most, t_end = 0, time.monotonic() + 4
        while time.monotonic() < t_end:
            most = max(most, pause.count())
            time.sleep(0.03)
        assert most == 1, f"{most} Pause buttons on the page at once after Start"
        poll(lambda: status(page), lambda s: s == "running", 20, "the new run to be running")
    finally:
        stop_training(page)


def test_run_picker_never_shows_a_stale_status(page, server, artifacts):
    """The browser keeps a kept selection's old label, so the run picker names no
    status (the badge under it does): after Stop nothing may still say running."""
    start_training(page, server)
    try:
        control(page, "app.ctl.stop").click()
        poll(lambda: status(page), lambda s: s == "stopped", 20, "the badge to say stopped")
        picker = page.evaluate(PICKER_JS)
        assert picker and t("status.running", "en") not in picker, picker
    finally:
        shot(page, artifacts, "picker_after_stop")
        if status(page) not in ("stopped", "finished"):
            stop_training(page)


def test_a_fresh_page_offers_d2l_defaults(page, server, artifacts):
    """The sidebar's numbers are d2l's, not their minimums, once the page has
    settled (a rerun landing while the first run drew them once left them at
    num_hiddens 1, lr 1e-8)."""
    page.goto(server + "/", timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    page.wait_for_timeout(3000)   # let any late rerun (the browser bridge) land first
    wait_loaded(page)
    sidebar = page.get_by_test_id("stSidebar")
    values = {name: sidebar.get_by_label(name, exact=True).input_value()
              for name in ("num_hiddens", "batch_size", "num_steps", "lr", "num_epochs")}
    assert values == {"num_hiddens": "512", "batch_size": "32", "num_steps": "35",
                      "lr": "1", "num_epochs": "500"}, values


def test_prepared_link_with_option_values(page, server, artifacts):
    """A lecturer's link names options by value (?model=gru), whatever the language."""
    for lang in ("en", "zh"):
        page.goto(server + f"/?lang={lang}&model=gru&corpus_src=paste", timeout=LOAD_TIMEOUT_MS)
        wait_loaded(page)
        assert_no_error(page, f"prepared link ({lang})")
        sidebar = page.get_by_test_id("stSidebar")
        model = sidebar.get_by_test_id("stSelectbox").filter(has_text=t("cfg.model", lang))
        assert model.locator("input").first.input_value() == t("cfg.model.gru", lang), \
            f"({lang}) ?model=gru did not choose the GRU"
        checked = sidebar.locator('input[type="radio"]:checked').evaluate_all(
            "els => els.map(e => e.closest('label').textContent.trim())")
        assert t("cfg.corpus.paste", lang) in checked, \
            f"({lang}) ?corpus_src=paste did not choose Paste: {checked}"
        assert "model=gru" in page.url, f"({lang}) the URL lost model=gru: {page.url}"
        shot(page, artifacts, f"prepared_link_{lang}")


def test_every_page_with_a_run(page, server, artifacts):
    """Every page again, now that the server holds (stopped) runs with data."""
    for name in PAGES:
        check_page(page, artifacts, server, name, f"with_run_{name}")


def test_presentation_mode_in_chinese(page, server, artifacts):
    page.goto(server + "/?lang=zh&present=1", timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    title = t("page.train", "zh")   # the strip's short name
    assert title == "训练"
    h1 = page.locator('[data-testid="stMain"] h1').first
    assert h1.inner_text().strip() == title
    assert_no_error(page, "?lang=zh&present=1")
    assert any(link.endswith("训练") for link in nav_titles(page)), \
        f"the navigation is not in Chinese: {nav_titles(page)}"
    assert_app_sidebar(page, "?lang=zh&present=1", lang="zh")
    shot(page, artifacts, "present_zh")
