"""Charts that stay on the page and are redrawn in place (live_plot.js).

st.plotly_chart gives a changed figure a new element, and the browser builds
a new Plotly chart for it: every second, for every live chart, in every
watching browser. Measured with the app's own four figures, that is 0.42 of
a core of the browser's; Plotly.react on the chart already there is 0.21
(tests/bench/browser_redraw.py). This component is a Plotly chart whose
element keeps its key, so the browser only updates it.

A figure is serialised once, however many sessions draw it: its JSON is kept
on the figure, which is never changed after it is built (charrnn/ui/live.py).
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
from pathlib import Path

import numpy as np
import plotly.io as pio
import streamlit as st

from . import serve

NAME = "charrnn.live_plot"
_JS = (Path(__file__).with_name("live_plot.js")).read_text(encoding="utf-8")
_revs = itertools.count(1)
_lock = threading.Lock()
# registered once per process; each mount registers it again on the runtime
# that runs the script if it has not (AppTest makes a runtime per test)
_mount = st.components.v2.component(NAME, js=_JS, isolate_styles=False)


# float32 keeps a value a chart can draw if it lies within these (a diverged
# norm of 1e40 or 1e-50 stays float64: a log axis would lose it as inf or 0)
F32_LARGEST, F32_SMALLEST = 1e37, 1e-36


def compact(spec: dict) -> dict:
    """The traces' float64 coordinates sent as float32: a browser draws and
    hovers them the same (7 digits), and a lecture hall's 100 watchers each
    receive a third fewer bytes a second (y was float64, half of each chart).
    `spec`: a figure as plotly's to_dict gives it (typed arrays in base64)."""
    for trace in spec.get("data", ()):
        for axis in ("x", "y", "z"):
            v = trace.get(axis)
            if not (isinstance(v, dict) and v.get("dtype") == "f8" and "bdata" in v):
                continue
            a = np.frombuffer(base64.b64decode(v["bdata"]), dtype="<f8")
            size = np.abs(a[np.isfinite(a) & (a != 0)])
            if size.size and not (size.max() < F32_LARGEST and size.min() > F32_SMALLEST):
                continue
            trace[axis] = {**v, "dtype": "f4",
                           "bdata": base64.b64encode(a.astype("<f4").tobytes()).decode()}
    return spec


def _wire(fig) -> tuple[int, str]:
    """(revision, JSON) of a figure, made once and kept on it."""
    wire = fig.__dict__.get("_wire")
    if wire is None:
        spec = pio.to_json(compact(fig.to_dict()), validate=False)
        with _lock:
            wire = fig.__dict__.setdefault("_wire", (next(_revs), spec))
    return wire


def payload(fig, config: dict, failed: str, fit: float | None = None) -> bytes:
    """What live_plot.js receives: the figure's JSON as is, in an envelope.
    `fit`: the chart takes this share of the screen below its top instead of
    the figure's height (a projector sees it without scrolling)."""
    rev, spec = _wire(fig)
    head = json.dumps({"rev": rev, "src": serve.plotly_js_url(), "config": config,
                       "failed": failed, "fit": fit}, ensure_ascii=False)
    return f'{head[:-1]}, "fig": {spec}}}'.encode()


def figure_of(data: bytes) -> dict:
    """The figure a payload carries, as a dict (for tests and tools)."""
    return json.loads(data)["fig"]


def preload():
    """Load plotly.js on a page that has no chart yet, so that the first
    chart of a run is drawn as soon as its data arrives (a cold browser
    takes seconds to fetch and compile plotly.js)."""
    _mount(data=json.dumps({"preload": True, "src": serve.plotly_js_url()}).encode(),
           key="plotly_preload", width="stretch", height=0)


def live_plot(fig, *, key: str, config: dict, failed: str, fit: float | None = None):
    """Draw `fig` under `key`; the same key next rerun updates the same chart."""
    _mount(data=payload(fig, config, failed, fit), key=key, width="stretch")
