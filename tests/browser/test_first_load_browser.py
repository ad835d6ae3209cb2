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

from urllib.parse import urlsplit

import pytest

from charrnn.i18n import t
from charrnn.settings import BY_NAME, FORM
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.browser.test_app_browser import (LOAD_TIMEOUT_MS, assert_no_error, poll,
                                            start_training, wait_loaded)
from tests.page_js import SIZED_JS

pytestmark = pytest.mark.browser

LOADS = 3          # fresh browsers per language (one load in two failed before)
DEEP_LINKS = 12    # one in four landed on the default page before
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


def test_a_projector_offers_d2l_defaults(browser, server, artifacts):
    """/?present=1, fresh again and again: the form's numbers are d2l's
    defaults (the settings table's), never their minimums."""
    expected = {s.url: s.default for s in NUMBERS}
    bad = []
    for lang in LANGS:
        for i in range(LOADS):
            context, page = open_link(browser, server, "/", lang)
            try:
                values = shown(page, expected)
                wrong = wrong_numbers(values, expected)
                if wrong:
                    bad.append((lang, i, wrong))
                    page.screenshot(path=str(artifacts / f"first_load_defaults_{lang}_{i}.png"))
                assert_no_error(page, f"/?present=1 ({lang})")
            finally:
                context.close()
    assert not bad, f"{len(bad)} of {LOADS * len(LANGS)} fresh loads showed other " \
                    f"numbers than d2l's defaults {expected}: {bad}"


def test_a_projector_offers_a_links_settings(browser, server, artifacts):
    """A prepared link (?num_hiddens=64&model=gru...) opened fresh again and
    again: the form shows the link's values, numbers and choice alike."""
    query = "&".join(f"{k}={v}" for k, v in LINK.items())
    numbers = {k: v for k, v in LINK.items() if k != "model"}
    bad = []
    for lang in LANGS:
        for i in range(LOADS):
            context, page = open_link(browser, server, f"/?{query}", lang)
            try:
                values = shown(page, LINK)
                wrong = wrong_numbers({k: values[k] for k in numbers}, numbers)
                if values["model"] != choice_label("model", LINK["model"], lang):
                    wrong["model"] = values["model"]
                if wrong:
                    bad.append((lang, i, wrong))
                    page.screenshot(path=str(artifacts / f"first_load_link_{lang}_{i}.png"))
                assert_no_error(page, f"the prepared link ({lang})")
            finally:
                context.close()
    assert not bad, f"{len(bad)} of {LOADS * len(LANGS)} fresh loads of {query} " \
                    f"showed other settings: {bad}"


def test_a_deep_link_lands_on_its_page(browser, server, artifacts):
    """/gradients, /unrolled and /hidden_state in presentation mode, opened
    again and again while a run trains (a lecturer moving between pages):
    each shows its own page, never the default. The browser stays the same
    (its cache warm, as a lecturer's is): its bridge then mounts soonest."""
    context, page = fresh_page(browser, "en")
    landed = []
    try:
        start_training(page, server)   # it trains on until the module's server ends
        for i in range(DEEP_LINKS):
            name, lang = list(TITLES)[i % len(TITLES)], LANGS[i * 2 // DEEP_LINKS]
            page.goto(f"{server}/{name}?present=1&lang={lang}", timeout=LOAD_TIMEOUT_MS)
            page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=LOAD_TIMEOUT_MS)
            # the bridge reports as it mounts; then the page drawn by its rerun
            # (not wait_loaded: a page whose run trains is seldom idle)
            poll(lambda: page.evaluate(SIZED_JS), bool, 30, "a page drawn with the window's size")
            landed.append((name, lang, page_name(page), title(page)))
            if landed[-1][2] != name:
                page.screenshot(path=str(artifacts / f"first_load_{name}_{lang}_{i}.png"))
            assert_no_error(page, f"/{name} ({lang})")
    finally:
        context.close()
    wrong = [x for x in landed if x[2] != x[0] or x[3] != t(TITLES[x[0]], x[1])]
    assert len(landed) == DEEP_LINKS
    assert not wrong, f"{len(wrong)} of {len(landed)} deep links landed elsewhere " \
                      f"(page, lang, path, title): {wrong}"
