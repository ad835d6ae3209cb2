"""The server's start, as `streamlit run app.py` serves app.py's `st.App`.

Why app.py is an `st.App` at all: charrnn/memory.py. `tune_server` is
everything the server process changes about itself, called by app.py by
name. The one thing the plain `streamlit run` does that `st.App`'s server
does not is to open a browser tab on a desktop; `lifespan` does it.
`routes` serves the one file the app adds: plotly.js, for the live charts.
"""
from __future__ import annotations

import gzip
import importlib
import os
import sys
import threading
import webbrowser
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
import plotly.io as pio
import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .. import memory, worker
from ..threads import configure_threads

_WILDCARD = {"", "0.0.0.0", "::"}


# How much lower the server's threads run than its training workers
# (CHARRNN_UI_NICE, 0-19, 0 turns it off): on a laptop the browser, the
# server and training share a few cores, and a worker at the server's
# priority waits its turn whenever they collide (tests/bench/RESULTS.md,
# sections 14-15). The page then gets a tenth of a contended core, enough
# for its reruns.
UI_NICE_DEFAULT = 10
# a training thread (CHARRNN_WORKER=thread) and every session's reruns share
# one GIL: a shorter switch interval than the default 5 ms hands it back to
# training sooner (tests/load/watchers.py)
THREAD_SWITCH_S = 0.0005
# loaded before the garbage collector's freeze, so that it never walks them
WARM_MODULES = ("charrnn.runs", "charrnn.figures", "charrnn.diagram")


def tune_server():
    """Everything the server process changes about itself, once, where
    `streamlit run` imports app.py, before the server starts its threads
    (malloc is app.py's very first call: charrnn/memory.py)."""
    use_plain_json()
    favour_training()
    configure_threads()   # the server's own torch work (Generate, weights copies)
    if worker.mode() == "thread":  # a worker process has a GIL of its own
        sys.setswitchinterval(THREAD_SWITCH_S)
    for name in WARM_MODULES:
        importlib.import_module(name)
    memory.collect_garbage_in_background()


def use_plain_json():
    """plotly's orjson engine leaked memory on the heatmaps' hover data
    (tests/bench/RESULTS.md); the plain json engine does not."""
    pio.json.config.default_engine = "json"


def ui_nice() -> int:
    """CHARRNN_UI_NICE, or the default (with one line on stderr when the value
    is not a whole number from 0 to 19)."""
    raw = os.environ.get("CHARRNN_UI_NICE", "").strip()
    if not raw:
        return UI_NICE_DEFAULT
    try:
        value = int(raw)
        if not 0 <= value <= 19:
            raise ValueError
    except ValueError:
        print(f"CHARRNN_UI_NICE={raw!r} is not a whole number from 0 to 19; "
              f"using {UI_NICE_DEFAULT}.", file=sys.stderr)
        return UI_NICE_DEFAULT
    return value


def local_url() -> str:
    """Where a browser on this machine finds the app."""
    address = st.get_option("browser.serverAddress") or ""
    if address in _WILDCARD or address == "localhost":
        address = st.get_option("server.address") or ""
    if address in _WILDCARD:
        address = "localhost"
    if ":" in address:   # IPv6
        address = f"[{address}]"
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{address}:{st.get_option('server.port')}/{base + '/' if base else ''}"


def favour_training():
    """Lower this thread's priority by `ui_nice()`, and so that of every
    thread it starts later (Linux: a nice value is per thread, and a new
    thread inherits its creator's), but not that of the training workers:
    they are forked by a thread started first, at the server's priority.
    Called once by tune_server, before the server starts its threads.

    Linux only: elsewhere the nice value is the whole process's, so the
    workers would inherit it. Not with training in a thread
    (CHARRNN_WORKER=thread): training would be lowered with the page."""
    lower = ui_nice()
    if not lower or not sys.platform.startswith("linux") or worker.mode() != "process":
        return
    worker.start_launcher()
    tid = threading.get_native_id()
    try:
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + lower))
    except OSError:
        pass   # a sandbox that forbids it: everything keeps one priority


@asynccontextmanager
async def lifespan(_app):
    # the socket already listens (st.App binds it before starting): the tab's
    # first request waits in the backlog; a thread, since a browser may take
    # seconds to launch
    if not st.get_option("server.headless"):
        threading.Thread(target=webbrowser.open, args=(local_url(),), daemon=True,
                         name="open-browser").start()
    yield


# ----------------------------------------------------------- plotly.js
# The live charts (live_plot.js) draw with the plotly.js that the plotly
# package installs, served by this server: the app needs no internet, and the
# figures and the library that draws them are always the same version.
PLOTLY_JS = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"


def plotly_js_url() -> str:
    """The path the browser loads plotly.js from. Streamlit does not put its
    base URL path before an App's own routes, so it is part of the path."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{'/' + base if base else ''}/api/charrnn/plotly-{plotly.__version__}.min.js"


_gzipped: bytes | None = None
_gzip_lock = threading.Lock()


def plotly_js_gzipped() -> bytes:
    """plotly.js compressed, once per server: Streamlit's middleware would
    compress the 4.8 MB at level 9 on every request, half a second of CPU
    that a server yielding to training (favour_training) finds only slowly,
    while a fresh tab's charts stay blank."""
    global _gzipped
    with _gzip_lock:
        if _gzipped is None:
            _gzipped = gzip.compress(PLOTLY_JS.read_bytes(), compresslevel=6, mtime=0)
        return _gzipped


async def _plotly_js(request):
    # the version is in the path: a browser may keep the file as long as it likes
    headers = {"Cache-Control": "public, max-age=31536000, immutable",
               "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = await run_in_threadpool(plotly_js_gzipped)
        return Response(body, media_type="text/javascript",
                        headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)


def routes() -> list[Route]:
    """What app.py's st.App serves besides Streamlit itself."""
    # compressed now, before anyone asks for it
    threading.Thread(target=plotly_js_gzipped, name="gzip-plotly", daemon=True).start()
    return [Route(plotly_js_url(), _plotly_js, methods=["GET", "HEAD"])]
