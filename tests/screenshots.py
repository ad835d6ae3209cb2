"""The README's screenshots, made again from the current code.

    python -m tests.screenshots [--steps 600] [--out assets]

Starts the app on a free port with a temporary runs folder
(tests/streamlit_server.py), starts a short run from the Train page, pauses
it after `--steps` minibatches, and saves two pages 1280 px wide, a
projector's width (Playwright driving Debian's /usr/bin/chromium):

- assets/screenshot-train.png: the Train page with the paused run's curves;
- assets/screenshot-unrolled.png: the Unrolled RNN page drawing that run's
  own minibatches (the run stopped by then).

The book comes from CHARRNN_DATA_DIR or the shared data folder beside the
repository (tests/bench/book.py). About a minute on two cores.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from charrnn.i18n import t
from tests.bench.book import data_dir
from tests.browser import test_app_browser as steps_of
from tests.browser.test_app_browser import (LOAD_TIMEOUT_MS, control, poll, start_training,
                                            status, step_metric, stop_training, wait_loaded)
from tests.page_js import CHROMIUM, CHROMIUM_ARGS
from tests.streamlit_server import REPO, streamlit_run

# a lecture projector's width; tall enough for the first charts, and for the grid
TRAIN_VIEW = {"width": 1280, "height": 1000}
UNROLLED_VIEW = {"width": 1280, "height": 1180}
# a run that shows its shape within a minute: d2l's batch and window, fewer units
RUN_URL = "/?num_epochs=3000&num_hiddens=128&batch_size=32&num_steps=35"


def _train(page, base, steps, path: Path):
    """Start a run, train `steps` minibatches, pause it, photograph the page, stop it."""
    steps_of.TRAIN_URL = RUN_URL   # start_training opens the Train page with this link
    start_training(page, base)
    poll(lambda: step_metric(page), lambda s: s is not None and s >= steps, 240,
         f"{steps} steps")
    control(page, "app.ctl.pause").click()
    poll(lambda: status(page), lambda s: s == "paused", 30, "the run to pause")
    page.goto(base + RUN_URL, timeout=LOAD_TIMEOUT_MS)   # the sidebar back at its top
    wait_loaded(page)
    page.wait_for_timeout(1500)   # the live charts draw once their data arrive
    page.screenshot(path=str(path))
    stop_training(page)


def _unrolled(page, base, path: Path):
    """The Unrolled RNN page on the stopped run's own minibatches, first phase lit."""
    page.set_viewport_size(UNROLLED_VIEW)
    page.goto(base + "/unrolled", timeout=LOAD_TIMEOUT_MS)
    wait_loaded(page)
    page.get_by_test_id("stMain").get_by_text(t("unr.source.run", "en"), exact=True).click()
    wait_loaded(page)
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(state="visible")
    page.wait_for_timeout(800)   # plotly lays out its annotations after the chart mounts
    page.screenshot(path=str(path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=600, help="minibatches before the pause")
    ap.add_argument("--out", default=str(REPO / "assets"), help="folder for the PNGs")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as runs:
        env = dict(os.environ, CHARRNN_RUNS_DIR=runs, CHARRNN_DATA_DIR=data_dir())
        env.pop("CHARRNN_PRESENTER_KEY", None)   # a key would make this browser a watcher
        with streamlit_run(Path(runs) / "server.log", env) as (base, _proc), \
                sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=TRAIN_VIEW, locale="en-US")
            page.set_default_timeout(30_000)
            _train(page, base, args.steps, out / "screenshot-train.png")
            _unrolled(page, base, out / "screenshot-unrolled.png")
            browser.close()
    for name in ("screenshot-train.png", "screenshot-unrolled.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
