"""The lecturer's keyboard and strip in a real browser: space pauses and
resumes, P turns presentation mode on and off, "forget the key" forgets it,
a preset click closes the next-demo menu, and a diverged run's gradient
chart keeps a plot a class can read at 720p. One server with a presenter
key for the module (tests/browser/test_lecture_browser.py has the rest)."""
from __future__ import annotations

import pytest

from charrnn.i18n import t
from charrnn.ui.follow import COOKIE
from tests.browser.test_app_browser import LOAD_TIMEOUT_MS, assert_no_error, poll, wait_loaded
from tests.browser.test_lecture_browser import (close, enter_key, goto, head_text, key_server,  # noqa: F401
                                                new_page, start_preset, url)

pytestmark = pytest.mark.browser

POPOVER_OPEN_JS = """() => [...document.querySelectorAll('[data-testid="stPopoverBody"]')]
  .filter(e => e.getClientRects().length > 0).length"""

# the plot area (Plotly's drag rectangle) of the chart titled `match`
PLOT_AREA_JS = """(match) => {
  for (const p of document.querySelectorAll('.js-plotly-plot')) {
    const t = p.layout && p.layout.title;
    const text = t && (typeof t === 'string' ? t : t.text);
    if (!text || !text.startsWith(match) || !p._fullData) continue;
    let best = null;
    for (const r of p.querySelectorAll('.nsewdrag')) {
      const b = r.getBoundingClientRect();
      if (!best || b.width * b.height > best.w * best.h) best = {w: b.width, h: b.height, top: b.top, bottom: b.bottom};
    }
    const f = p.getBoundingClientRect();
    return best && {...best, fig_top: f.top, fig_bottom: f.bottom, vh: window.innerHeight,
                    names: p._fullData.map(d => d.name || '')};
  }
  return null;
}"""


def blur(page):
    """Keys go to the page, not to the box the key was typed in."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def open_as_lecturer(page, key_server):
    """Train, with the presenter key entered."""
    page.goto(url(key_server, "train"), timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    enter_key(page)


def status_is(page, status, lang="en", timeout_s=20):
    return poll(lambda: head_text(page), lambda s: t(f"status.{status}", lang) in s, timeout_s,
                f"the strip to say {status}")


def test_a_preset_click_closes_the_next_demo_menu_and_space_pauses_and_resumes(
        browser, key_server, artifacts):
    """The lecturer clicks a preset: the menu closes and the run starts. Then
    space pauses the run and space again resumes it (the strip's status)."""
    context, page = new_page(browser)
    try:
        open_as_lecturer(page, key_server)
        start_preset(page, "d2l")
        poll(lambda: page.evaluate(POPOVER_OPEN_JS), lambda n: n == 0, 15,
             "the next-demo menu to close after the preset click")
        blur(page)
        page.keyboard.press(" ")
        status_is(page, "paused")
        assert t("app.ctl.resume", "en") in head_text(page)
        page.keyboard.press(" ")
        status_is(page, "running")
        assert_no_error(page, "space pauses and resumes")
    finally:
        close(context, artifacts, "lecture-keys-space")


def strip_shown(page) -> bool:
    return page.locator(".st-key-lecture_head").count() > 0


def test_p_turns_presentation_mode_off_and_on(browser, key_server, artifacts):
    context, page = new_page(browser)
    try:
        open_as_lecturer(page, key_server)
        blur(page)
        page.keyboard.press("p")
        poll(lambda: ("present=1" in page.url, strip_shown(page)), lambda s: s == (False, False),
             20, "presentation mode off: no present=1 in the URL, no strip")
        blur(page)
        page.keyboard.press("P")
        poll(lambda: ("present=1" in page.url, strip_shown(page)), lambda s: s == (True, True),
             20, "presentation mode on again: present=1 in the URL, the strip")
        assert_no_error(page, "P toggles presentation mode")
    finally:
        close(context, artifacts, "lecture-keys-p")


def cookie_set(context) -> bool:
    return any(c["name"] == COOKIE and c["value"] for c in context.cookies())


def test_forget_the_key_removes_it_from_this_browser(browser, key_server, artifacts):
    """The key remembered in a cookie, and its menu closed by itself once the
    key is taken; "forget the key" removes the cookie, and a reload has no
    control."""
    context, page = new_page(browser)
    try:
        open_as_lecturer(page, key_server)
        poll(lambda: cookie_set(context), bool, 10, "the presenter's cookie")
        poll(lambda: page.evaluate(POPOVER_OPEN_JS), lambda n: n == 0, 10,
             "the key menu to close once the key is taken")
        page.locator('[class*="st-key-lec_key_menu_"]').get_by_role("button").first.click()
        page.get_by_test_id("stPopoverBody").get_by_role(
            "button", name=t("lec.key.forget", "en"), exact=True).click()
        poll(lambda: cookie_set(context), lambda s: not s, 10, "the cookie to be removed")
        page.reload(timeout=LOAD_TIMEOUT_MS)
        wait_loaded(page)
        assert_no_error(page, "reload after forgetting the key")
        text = head_text(page)
        assert t("lec.demo", "en") not in text and t("app.key.label", "en") in text, \
            f"after forgetting the key and a reload the strip says {text!r}"
    finally:
        close(context, artifacts, "lecture-keys-forget")


# Plotly's plot area of the gradient chart at 1280x720, a diverged run: at
# least this share of the window's height (the chart fills what the strip leaves)
MIN_PLOT_SHARE = 0.36


def test_a_diverged_runs_gradient_chart_stays_readable_at_720p(browser, key_server, artifacts):
    """The no-clipping preset diverges; on Gradients, in English and Chinese,
    the clipping chart's plot area keeps most of the screen (the message and
    the legend do not squeeze it) and the chart is on the first screen."""
    context, page = new_page(browser)
    try:
        open_as_lecturer(page, key_server)
        start_preset(page, "explode")
        status_is(page, "diverged", timeout_s=90)
    finally:
        close(context, artifacts, "lecture-diverged-start")
    for lang in ("en", "zh"):
        context, page = new_page(browser, "720p", lang)
        try:
            page.goto(url(key_server, "train", lang), timeout=LOAD_TIMEOUT_MS)
            wait_loaded(page)
            enter_key(page, lang)
            goto(page, key_server, "gradients", lang)
            title = t("fig.grad.title", lang).split("{")[0].strip()
            marker = t("fig.grad.diverged", lang, step=0).split("0")[0]
            # the chart is fitted to the window after its first draw: poll
            area = poll(lambda: page.evaluate(PLOT_AREA_JS, title),
                        lambda a: a is not None and any(n.startswith(marker) for n in a["names"])
                        and a["h"] >= MIN_PLOT_SHARE * a["vh"] and a["w"] >= 800
                        and a["fig_bottom"] <= a["vh"] + 0.5, 30,
                        f"the diverged run's gradient chart ({lang}) with a plot area of at "
                        f"least {MIN_PLOT_SHARE:.0%} of the window's height, 800 px wide, "
                        f"on the first screen")
            page.screenshot(path=str(artifacts / f"lecture_diverged_gradients_720p_{lang}.png"))
            assert t("status.diverged", lang) in head_text(page), area
        finally:
            close(context, artifacts, f"lecture-diverged-{lang}")
