"""What `streamlit run app.py` does besides Streamlit's own serving: the
server's malloc arenas (charrnn/memory.py), on a desktop the first browser
tab, and the plotly.js that the live charts load."""
from __future__ import annotations

import gzip
import os
import platform
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import plotly
import pytest

from charrnn import memory
from charrnn.ui import serve
from tests.streamlit_server import REPO, streamlit_run

HEAP = 64 << 20   # glibc's HEAP_MAX_SIZE on 64-bit: a non-main arena's heap


def glibc_arena_heaps(pid: int) -> int:
    """The non-main malloc arenas' heaps of a process (at least one each):
    anonymous mappings that start on a 64 MiB boundary and, with the
    reserved (---p) rest that follows, span exactly 64 MiB."""
    maps = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            maps.append((lo, hi, fields[1], len(fields) > 5))
    heaps = 0
    for i, (lo, hi, perms, named) in enumerate(maps):
        if named or lo % HEAP or not perms.startswith("rw"):
            continue
        end = hi
        if i + 1 < len(maps):
            lo2, hi2, perms2, named2 = maps[i + 1]
            if lo2 == hi and perms2.startswith("---") and not named2:
                end = hi2
        heaps += end - lo == HEAP
    return heaps


def _server_env(tmp_path):
    env = dict(os.environ, CHARRNN_RUNS_DIR=str(tmp_path / "runs"))
    for name in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES"):   # the app's own settings, not these
        env.pop(name, None)
    return env


def _with_fake_browser(tmp_path):
    """(server environment, file): webbrowser honours $BROWSER, here a script
    that writes down each address it is given in that file."""
    opened = tmp_path / "opened.txt"
    fake = tmp_path / "fake-browser"
    fake.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\n')
    fake.chmod(0o755)
    return dict(_server_env(tmp_path), BROWSER=str(fake)), opened


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc arenas")
def test_first_page_load_leaves_the_server_few_malloc_arenas(tmp_path):
    """A browser's first visit fetches dozens of scripts at once, each on a
    thread of Streamlit's file pool. Before app.py was an st.App, that made
    16 arenas before any app code ran, too late to cap them, and the server
    grew +121 MB/h (tests/bench/RESULTS.md section 13)."""
    with streamlit_run(tmp_path / "server.log", _server_env(tmp_path)) as (base, proc):
        with urllib.request.urlopen(base + "/", timeout=10) as resp:
            html = resp.read().decode()
        assets = re.findall(r'(?:src|href)="\./(static/[^"]+)"', html)
        assert len(assets) > 20, "the page no longer names its scripts: fetch them otherwise"

        def fetch(path):
            with urllib.request.urlopen(f"{base}/{path}", timeout=30) as r:
                return len(r.read())

        with ThreadPoolExecutor(16) as pool:   # as a browser does: in parallel
            assert all(n > 0 for n in pool.map(fetch, assets))
        heaps = glibc_arena_heaps(proc.pid)
    # ARENAS, or the few the CLI's own threads made before app.py was imported
    assert heaps <= 2 * memory.ARENAS, f"{heaps} malloc arenas: the cap came too late"


def test_a_desktop_start_opens_a_tab_on_the_app(tmp_path):
    """Not headless, `streamlit run app.py` opens the app in the user's browser."""
    env, opened = _with_fake_browser(tmp_path)
    with streamlit_run(tmp_path / "server.log", env, headless=False) as (base, _proc):
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert opened.exists(), "no browser tab was opened"
        url = opened.read_text().split()[0]
        assert url == base + "/"
        with urllib.request.urlopen(url + "_stcore/health", timeout=10) as resp:
            assert resp.read().strip() == b"ok"


def test_headless_start_opens_no_tab(tmp_path):
    env, opened = _with_fake_browser(tmp_path)
    with streamlit_run(tmp_path / "server.log", env, headless=True):
        time.sleep(2)
    assert not opened.exists()


def test_the_live_charts_plotly_js_is_served_under_the_base_url_path(tmp_path):
    name = f"api/charrnn/plotly-{plotly.__version__}.min.js"
    with streamlit_run(tmp_path / "server.log", _server_env(tmp_path), base_path="rnn") as (app, _):
        req = urllib.request.Request(f"{app}/{name}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = gzip.decompress(r.read()) if r.headers["Content-Encoding"] == "gzip" \
                else r.read()
            assert r.headers["Content-Type"].startswith("text/javascript")
            assert "immutable" in r.headers["Cache-Control"]  # the version is in the name
    assert body == serve.PLOTLY_JS.read_bytes()


_NICE_SCRIPT = """
import os, sys, threading
from charrnn import worker
from charrnn.ui import serve
before = os.getpriority(os.PRIO_PROCESS, 0)
serve.favour_training()
seen = {}
t = threading.Thread(target=lambda: seen.update(
    thread=os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
t.start(); t.join()
child = worker._popen([sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"],
                      stdout=-1, text=True)
print(before, seen["thread"], int(child.communicate()[0]))
"""


def _nice_after_favour_training(ui_nice: str):
    """(nice before, of a thread started after favour_training, of a worker)"""
    out = subprocess.run([sys.executable, "-c", _NICE_SCRIPT], capture_output=True, text=True,
                         timeout=120, cwd=REPO, env=dict(os.environ, CHARRNN_WORKER="process",
                                                         CHARRNN_UI_NICE=ui_nice))
    assert out.returncode == 0, out.stderr
    return tuple(map(int, out.stdout.split())), out.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values: Linux")
@pytest.mark.parametrize("value, lower, message", [("", 10, False), ("10", 10, False),
                                                   ("3", 3, False), ("fast", 10, True),
                                                   ("25", 10, True)])
def test_the_page_yields_to_training_workers_not_they_to_it(value, lower, message):
    """As app.py calls favour_training: the threads the server makes afterwards
    run CHARRNN_UI_NICE (default 10) lower; a worker it starts keeps the old
    priority. A bad value gets one line and the default."""
    (before, thread, child), err = _nice_after_favour_training(value)
    assert thread == min(19, before + lower)
    assert child == before
    assert ("CHARRNN_UI_NICE" in err and "0 to 19" in err) == message, err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values: Linux")
def test_ui_nice_0_keeps_every_thread_at_one_priority():
    (before, thread, child), err = _nice_after_favour_training("0")
    assert thread == child == before
    assert not err


@pytest.mark.parametrize("base, path", [
    ("", "/api/charrnn/plotly-{v}.min.js"),
    ("/rnn/", "/rnn/api/charrnn/plotly-{v}.min.js"),
    ("a/b", "/a/b/api/charrnn/plotly-{v}.min.js"),
])
def test_plotly_js_url_follows_the_base_url_path(base, path):
    from streamlit import config
    saved = config.get_option("server.baseUrlPath")
    try:
        config.set_option("server.baseUrlPath", base)
        assert serve.plotly_js_url() == path.format(v=plotly.__version__)
    finally:
        config.set_option("server.baseUrlPath", saved)


@pytest.mark.parametrize("options, url", [
    ({}, "http://localhost:8501/"),
    ({"server.address": "0.0.0.0", "server.port": 9000}, "http://localhost:9000/"),
    ({"server.address": "10.1.2.3"}, "http://10.1.2.3:8501/"),
    ({"server.address": "::1"}, "http://[::1]:8501/"),
    ({"server.baseUrlPath": "/rnn/"}, "http://localhost:8501/rnn/"),
    ({"browser.serverAddress": "class.example.org"}, "http://class.example.org:8501/"),
])
def test_local_url(options, url):
    from streamlit import config
    saved = {k: config.get_option(k) for k in
             ("server.address", "server.port", "server.baseUrlPath", "browser.serverAddress")}
    try:
        for k, v in {"server.address": "", "server.port": 8501, "server.baseUrlPath": "",
                     "browser.serverAddress": "localhost", **options}.items():
            config.set_option(k, v)
        assert serve.local_url() == url
    finally:
        for k, v in saved.items():
            config.set_option(k, v)


_PROCESS_STATE = """
import gc, json, sys, threading
import plotly.io as pio
before = sys.getswitchinterval()
import charrnn.ui, charrnn.ui.serve, charrnn.ui.config_form, charrnn.ui.tuning
from charrnn.ui import get_registry
if sys.argv[1] == "app":
    import importlib.util
    spec = importlib.util.spec_from_file_location("app", "app.py")  # as streamlit run does
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps({"engine": pio.json.config.default_engine, "frozen": gc.get_freeze_count(),
                  "gc_thread": any(t.name == "charrnn-gc" for t in threading.enumerate()),
                  "switch": sys.getswitchinterval() != before}))
"""


def _process_state(how: str) -> dict:
    import json
    out = subprocess.run([sys.executable, "-c", _PROCESS_STATE, how], capture_output=True,
                         text=True, timeout=120, cwd=REPO,
                         env=dict(os.environ, CHARRNN_WORKER="thread", CHARRNN_UI_NICE="0"))
    assert out.returncode == 0, out.stderr[-500:]
    return json.loads(out.stdout.splitlines()[-1])


def test_importing_the_ui_changes_nothing_in_the_process():
    """The server's tuning happens where app.py calls it, not as a side effect
    of an import (a test, a notebook or a script may import charrnn.ui)."""
    assert _process_state("import") == {"engine": "auto", "frozen": 0, "gc_thread": False,
                                         "switch": False}


def test_app_py_tunes_the_server_when_streamlit_imports_it():
    state = _process_state("app")
    assert state["engine"] == "json" and state["frozen"] > 0 and state["gc_thread"]
    assert state["switch"]   # training in a thread: the GIL changes hands sooner
