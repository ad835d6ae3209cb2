"""What a projector shows on a fresh load of a lecturer's link (`?present=1`),
load after load, in both languages: the page the link names, and the
sidebar's settings as d2l's defaults or the link set them.

Both once went wrong now and then on a fresh load: the browser bridge
(charrnn/ui/follow.py) reports the window's size as it mounts, and that
rerun raced the first one. It came back on the default page, or with the
form's numbers at their minimums (num_hiddens 1, lr 1e-8), which the next
click (Start) then used. One page load decides nothing: each test opens
several fresh pages.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from charrnn.i18n import t
from charrnn.settings import BY_NAME, FORM
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.browser.test_app_browser import (PAGES, LOAD_TIMEOUT_MS, assert_no_error, poll,
                                            wait_loaded)
from tests.page_js import SIZED_JS

pytestmark = pytest.mark.browser

LOADS = 3          # fresh browsers per language (one load in two failed before)
HOLD_S = 2          # how long the server seems slow: a bridge mounts well within it
LANGS = ("en", "zh")
# each deep-linked page and the title it shows
TITLES = {"gradients": "grad.title", "unrolled": "unr.title", "hidden_state": "hidden.title"}
# the sidebar's numbers: every int / float setting the form draws by default
NUMBERS = [s for s in FORM if s.kind in ("int", "float") and s.group]
# a prepared link: numbers and a choice, none at its default
LINK = {"num_hiddens": 64, "batch_size": 16, "lr": 0.5, "seed": 3, "model": "gru"}

SHOWN_JS = """(keys) => {
  const out = {};
  for (const k of keys) {
    const box = document.querySelector('.st-key-' + k);
    const radio = box && box.querySelector('input[type=radio]:checked');
    const input = box && box.querySelector('input');
    out[k] = radio ? radio.closest('label').innerText.trim() : input ? input.value : null;
  }
  return out;
}"""


def page_name(page) -> str:
    return urlsplit(page.url).path.rstrip("/").rsplit("/", 1)[-1]


def title(page) -> str:
    return page.locator('[data-testid="stMain"] h1').first.inner_text().strip()


def fresh_page(browser, lang):
    """A new browser context (a new Streamlit session) at a projector's size."""
    context = browser.new_context(viewport={"width": 1280, "height": 720},
                                  locale="zh-CN" if lang == "zh" else "en-US")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context, context.new_page()


def open_link(browser, server, path, lang):
    context, page = fresh_page(browser, lang)
    page.goto(f"{server}{path}{'&' if '?' in path else '?'}present=1&lang={lang}",
              timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    return context, page


def shown(page, keys) -> dict:
    """What the (collapsed) sidebar's widgets show: a number's text, a choice's label."""
    return page.evaluate(SHOWN_JS, list(keys))


def wrong_numbers(values: dict, expected: dict) -> dict:
    return {k: v for k, v in values.items()
            if v is None or float(v) != float(expected[k])}


def choice_label(name, value, lang) -> str:
    return t(BY_NAME[name].option_labels.format(value), lang)


def fresh_loads(browser, server, path, artifacts, name, wrong) -> list:
    """Open `path` fresh LOADS times in each language; `wrong(page, lang)`
    names what the form shows wrongly. Returns (lang, load, wrong) of each
    bad load, with a screenshot of it."""
    bad = []
    for lang in LANGS:
        for i in range(LOADS):
            context, page = open_link(browser, server, path, lang)
            try:
                found = wrong(page, lang)
                if found:
                    bad.append((lang, i, found))
                    page.screenshot(path=str(artifacts / f"{name}_{lang}_{i}.png"))
                assert_no_error(page, f"{path} ({lang})")
            finally:
                context.close()
    return bad


def test_a_projector_offers_d2l_defaults(browser, server, artifacts):
    """/?present=1, fresh again and again: the form's numbers are d2l's
    defaults (the settings table's), never their minimums."""
    expected = {s.url: s.default for s in NUMBERS}
    bad = fresh_loads(browser, server, "/", artifacts, "first_load_defaults",
                      lambda page, lang: wrong_numbers(shown(page, expected), expected))
    assert not bad, f"{len(bad)} of {LOADS * len(LANGS)} fresh loads showed other " \
                    f"numbers than d2l's defaults {expected}: {bad}"


def test_a_projector_offers_a_links_settings(browser, server, artifacts):
    """A prepared link (?num_hiddens=64&model=gru...) opened fresh again and
    again: the form shows the link's values, numbers and choice alike."""
    query = "&".join(f"{k}={v}" for k, v in LINK.items())
    numbers = {k: v for k, v in LINK.items() if k != "model"}

    def wrong(page, lang):
        values = shown(page, LINK)
        out = wrong_numbers({k: values[k] for k in numbers}, numbers)
        if values["model"] != choice_label("model", LINK["model"], lang):
            out["model"] = values["model"]
        return out
    bad = fresh_loads(browser, server, f"/?{query}", artifacts, "first_load_link", wrong)
    assert not bad, f"{len(bad)} of {LOADS * len(LANGS)} fresh loads of {query} " \
                    f"showed other settings: {bad}"


class SlowNavigation:
    """The app's websocket, routed: from the first st.navigation message of
    each page load on (it names every page), the server's messages wait in
    a queue until release(). A server that is slow just there (a busy
    machine, a class's run training) looks the same to the browser."""

    def __init__(self, page):
        self.page, self.queue, self.ws = page, None, None
        self.seen = False
        page.route_web_socket(re.compile(r"/_stcore/stream"), self._route)

    def _route(self, ws):
        self.ws, self.queue, self.seen = ws, None, False
        ws.connect_to_server().on_message(self._from_server)

    def _from_server(self, message):
        if self.queue is None and not self.seen and isinstance(message, bytes) \
                and all(name.encode() in message for name in PAGES):
            self.seen, self.queue = True, []
        if self.queue is None:
            self.ws.send(message)
        else:
            self.queue.append(message)

    def hold(self, seconds):
        """Wait for the navigation message, hold it and what follows `seconds`, release."""
        for _ in range(int(LOAD_TIMEOUT_MS / 50)):
            if self.seen:
                break
            self.page.wait_for_timeout(50)   # lets Playwright deliver the messages
        assert self.seen, "no st.navigation message reached the browser"
        self.page.wait_for_timeout(seconds * 1000)
        queue, self.queue = self.queue, None
        for message in queue:
            self.ws.send(message)


def test_a_deep_link_lands_on_its_page(browser, server, artifacts):
    """/gradients, /unrolled and /hidden_state in presentation mode, on a
    server slow to send st.navigation's message: each shows its own page,
    never the default. (The browser names the page it was last told of in
    every rerun it asks for; the bridge's first report asked for one before
    it was told, and the rerun ran the default page.)"""
    context, page = fresh_page(browser, "en")
    slow = SlowNavigation(page)
    landed = []
    try:
        for i, lang in enumerate(LANGS * 2):
            name = list(TITLES)[i % len(TITLES)]
            page.goto(f"{server}/{name}?present=1&lang={lang}", timeout=LOAD_TIMEOUT_MS)
            slow.hold(HOLD_S)
            # the bridge reports as it mounts; then the page its rerun drew
            poll(lambda: page.evaluate(SIZED_JS), bool, 30, "a page drawn with the window's size")
            landed.append((name, lang, page_name(page), title(page)))
            if landed[-1][2] != name:
                page.screenshot(path=str(artifacts / f"first_load_{name}_{lang}_{i}.png"))
            assert_no_error(page, f"/{name} ({lang})")
    finally:
        context.close()
    wrong = [x for x in landed if x[2] != x[0] or x[3] != t(TITLES[x[0]], x[1])]
    assert len(landed) == 2 * len(LANGS)
    assert not wrong, f"{len(wrong)} of {len(landed)} deep links landed elsewhere " \
                      f"(page, lang, path, title): {wrong}"
