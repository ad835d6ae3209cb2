"""The server's start, as `streamlit run app.py` serves app.py's `st.App`.

Why app.py is an `st.App` at all: charrnn/ui/memory.py. The one thing the
plain `streamlit run` does that `st.App`'s server does not is to open a
browser tab on a desktop; `lifespan` does it. `routes` serves the one file
the app adds: plotly.js, for the live charts. `favour_training` gives
the training workers the CPU first (CHARRNN_UI_NICE).
"""
from __future__ import annotations

import gzip
import os
import sys
import threading
import webbrowser
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .. import worker

_WILDCARD = {"", "0.0.0.0", "::"}


# How much lower the server's threads run than its training workers
# (CHARRNN_UI_NICE, 0-19, default 10; 0 turns it off). On a laptop the
# browser, the server and training share a few cores; when they collide, a
# worker at the same priority waits its turn: 2.6 s of every 20 on two cores
# (/proc/<pid>/schedstat), most of what separated the app from the CLI. At
# +10 the app ran at 0.90-0.92x of the CLI instead of 0.83-0.85x with
# Chromium on the same two cores (tests/bench/RESULTS.md, sections 14-15).
# The page then gets a tenth of a contended core, enough for its reruns
# (clicks answered in 0.2 s median); the run's buttons are outside the live
# fragment, whose slower reruns once held a Stop back (charrnn/ui/live.py).
UI_NICE_DEFAULT = 10


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
    Called once, where `streamlit run` imports app.py, before the server
    starts its threads.

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
    """plotly.js compressed, once per server. Streamlit's middleware would
    compress the 4.8 MB at level 9 on every request: half a second of CPU,
    which a server whose threads yielded to training (favour_training) took
    over 20 s to find while a run trained: a fresh tab's charts stayed blank
    meanwhile."""
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
