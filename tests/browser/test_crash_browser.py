"""A server killed (SIGKILL) while a run trains: started again, it shows the
run interrupted with its charts up to the last checkpoint; Resume goes on
from there and the charts grow, the steps continuing the old ones."""
from __future__ import annotations

import json
import os

from charrnn import checkpoint
from charrnn.i18n import t
from tests.browser.test_app_browser import (LOAD_TIMEOUT_MS, assert_no_error, grad_points,
                                            poll, start_training, status, wait_loaded)
from tests.streamlit_server import streamlit_run


def test_a_killed_server_comes_back_with_the_run_resumable(page, artifacts, tmp_path):
    env = dict(os.environ, CHARRNN_RUNS_DIR=str(tmp_path / "runs"))
    env.pop("CHARRNN_PRESENTER_KEY", None)
    with streamlit_run(artifacts / "server-crash-1.log", env) as (base, proc):
        start_training(page, base)
        run_id = page.evaluate("() => new URL(location.href).searchParams.get('run')")
        meta = tmp_path / "runs" / run_id / "meta.json"

        def checkpoint_epoch():
            try:
                return (json.loads(meta.read_text()).get("checkpoint") or {}).get("epoch", 0)
            except (OSError, ValueError):
                return 0
        poll(checkpoint_epoch, lambda e: e >= 3, 90, "three epochs on disk")
        proc.kill()   # SIGKILL: no cleanup at all
        proc.wait(10)
    with streamlit_run(artifacts / "server-crash-2.log", env) as (base, _proc):
        page.goto(f"{base}/?run={run_id}", timeout=LOAD_TIMEOUT_MS)
        wait_loaded(page)
        assert_no_error(page, "after the crash")
        poll(lambda: status(page), lambda s: s == "interrupted", 30, "the run to be interrupted")
        # the checkpoint's own file is the truth: meta.json, written after it,
        # lags one checkpoint behind when the kill fell between the two
        step = checkpoint.read_resume(meta.parent)["step"]
        shown = poll(lambda: grad_points(page), lambda g: g and g["n"] > 0, 30, "its chart")
        # everything up to the checkpoint (long series are thinned for display:
        # a reloaded chart of 1,736 steps once held 992 points, never under half)
        assert shown["last"] == step and min(step, 2000) // 2 <= shown["n"] <= step
        page.get_by_test_id("stMainBlockContainer").get_by_role("button", name=t("app.ctl.continue", "en", step=step)).click()
        poll(lambda: status(page), lambda s: s == "running", 30, "the run to go on")
        later = poll(lambda: grad_points(page), lambda g: g and g["last"] > step + 20, 60,
                     "new points after the checkpoint")
        assert later["n"] >= shown["n"]   # the old points are still there, new ones after
