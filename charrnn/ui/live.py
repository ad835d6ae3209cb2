"""Live pieces: the run header (status, controls, progress) and charts that
follow a run or freeze so a user can zoom and hover while it trains."""
from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict

import numpy as np
import streamlit as st

from ..runs import Run
from .controls import control_buttons
from .core import can_control, status_badge, tr
from .live_plot import live_plot
from .pace import turn, watching

PLOTLY_CONFIG = {"displaylogo": False,
                 "toImageButtonOptions": {"format": "png", "scale": 2}}


def live_every(run: Run | None):
    """Poll once a second while the run can still change; not at all after."""
    return 1.0 if run is not None and run.is_active else None


def end_polling(run: Run | None, every):
    """Inside a live fragment: once the run has ended, one full rerun turns
    polling off (run_every is fixed when the fragment is defined)."""
    if every is not None and run is not None and not run.is_active:
        st.rerun(scope="app")


_POLLING = "_live_polling"


def polling(every):
    """Say, before a page's live part draws its charts, whether it reruns by
    itself (`every` seconds, or None: never). A chart drawn where nothing
    reruns must be current: the last frame of a run that just ended stays."""
    st.session_state[_POLLING] = every is not None


def live_fragment(*runs: Run | None, follow: bool = True):
    """Decorator for a page's live part: a fragment that reruns every second
    while any of `runs` can still change (and `follow` is on) and, once the
    last has ended, reruns the page once, which stops the polling."""
    def active():
        return any(r is not None and r.is_active for r in runs)
    every = 1.0 if follow and active() else None

    def wrap(body):
        @functools.wraps(body)   # the fragment's identity is the page's function
        def part():
            if every is not None and not active():
                st.rerun(scope="app")
            polling(every)
            with turn():   # many sessions polling take turns (charrnn/ui/pace.py)
                body()
        return st.fragment(part, run_every=every)
    return wrap


# Figures shared by every session of this server. Thirty students watching one
# run would otherwise build the same four figures thirty times a second (each
# tens of milliseconds of Python holding the GIL). A figure is rebuilt when its data
# changed, by ONE session (the others keep getting the previous one meanwhile),
# and at most every FRAME_S or BUILD_SHARE of its build's CPU time, so a busy
# server spends at most that share of a core on each chart (of its time, when
# other sessions wait for the live turn the build holds: see shared_figure).
FRAME_S = 0.8
BUILD_SHARE = 0.1
# With many sessions watching, each is served in turn (charrnn/ui/pace.py) and
# sees a new frame every second or so anyway: frames come at most this often
# per watching session, up to MAX_FRAME_S (100 sessions: 1.5 s).
FRAME_PER_WATCHER_S = 0.015
MAX_FRAME_S = 1.5
_MAX_SHARED = 96
_shared: OrderedDict = OrderedDict()   # key -> (built at, version, figure, cost in s)
_building: set = set()
_shared_lock = threading.Lock()


def frame_s() -> float:
    """The least time between two builds of one shared figure."""
    return max(FRAME_S, min(MAX_FRAME_S, watching() * FRAME_PER_WATCHER_S))


def shared_figure(key: tuple, version, build, current: bool = False):
    """(figure, its version): the cached one if its data is current, if it is
    recent, or if another session is building the next one; else `build()`.
    `current`: nothing will ask again, so an older frame will not do."""
    now = time.monotonic()
    frame = frame_s()
    with _shared_lock:
        hit = _shared.get(key)
        if hit is not None:
            built, got, fig, cost = hit
            if got == version or (not current and (
                    now - built < max(frame, cost / BUILD_SHARE) or key in _building)):
                return fig, got
        _building.add(key)
    try:
        c0, t0 = time.thread_time(), time.monotonic()
        fig = build()   # never changed after this: its JSON is kept on it (live_plot)
        # with other sessions waiting for the live turn (pace.py), a build holds
        # them all up: its wall time is what it costs the server
        cost = time.monotonic() - t0 if watching() > 1 else time.thread_time() - c0
    finally:
        with _shared_lock:
            _building.discard(key)
    with _shared_lock:
        _shared[key] = (time.monotonic(), version, fig, cost)
        _shared.move_to_end(key)
        while len(_shared) > _MAX_SHARED:
            _shared.popitem(last=False)
    return fig, version


def chart(key: str, build, signature=(), version=None, fit: float | None = None):
    """Draw `build()` (a plotly Figure) with a 'follow live' switch.

    The chart stays on the page and is updated in place (live_plot), so zoom
    survives new data. A frozen chart is handed the very same figure every
    redraw and is not touched at all (hover and selections stay too) until
    `signature` changes: another run, language or view.
    Following, a figure is rebuilt only when `signature` (run, language,
    options) or `version` (what its data has changed with: a step count, a
    snapshot's step) changed, and the build is shared with every other
    session asking for the same figure.
    `fit` (presentation mode): the chart takes that share of the screen below
    its top, and has no switch above it (it follows).
    """
    cache = st.session_state.setdefault("_figs", {})
    follow = fit is not None or st.toggle(tr("app.follow"), value=True, key=f"follow_{key}",
                                          help=tr("app.follow.help"))
    entry = cache.get(key)
    # frozen, a chart takes no new data, but another run or language is drawn
    if entry is None or entry[0][0] != signature or (follow and entry[0][1] != version):
        # polling, an older frame is fine (the next tick asks again); not polling
        # (the run ended), it would stay: the explosion's last steps never drawn
        fig, got = shared_figure((key, *signature), version, build,
                                 current=not st.session_state.get(_POLLING, False))
        entry = ((signature, got), fig)  # an older frame: asked again next rerun
        cache[key] = entry
    live_plot(entry[1], key=f"chart_{key}", config=PLOTLY_CONFIG,
              failed=tr("app.chart.failed"), fit=fit)


def _fmt_eta(seconds):
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}h{(seconds % 3600) // 60:02d}"


def header_state(run: Run) -> tuple:
    """What the header outside the live fragment shows: when it changes, the
    page reruns whole (see `follow_run`)."""
    return (run.status, run.message, repr(run.reason), run.info.get("warning"),
            repr(run.info.get("step_note")), run.checkpoint_error)


def follow_run(run: Run, every, shown: tuple | None):
    """Inside the Train page's live fragment: `end_polling`, and a full rerun
    once the header outside the fragment no longer says what it showed
    (`shown`, None when no header is drawn): paused from another tab,
    queued -> running, a worker's warning."""
    end_polling(run, every)
    if shown is not None and header_state(run) != shown:
        st.rerun(scope="app")


def run_header(run: Run, controls=True) -> tuple:
    """Status, messages and, for who may control, the run's buttons. Drawn
    OUTSIDE the live fragment: a click on a button inside a fragment that
    reruns every second waits for the rerun under way, and on a busy machine
    a Stop pressed just after Start was lost (streamlit/streamlit#10928). A
    button outside interrupts whatever runs. Returns `header_state` as drawn."""
    shown = header_state(run)
    st.markdown(f"### {status_badge(run.status)} {run.name}")
    # Messages come and go; they have a container that is always there, so
    # what follows keeps its place on the page. Otherwise, while the page
    # reruns, the browser shows the previous run's buttons beside the new
    # ones (two "Pause", one of them stale).
    notes = st.container()
    # an ended run says where and why, in the reader's language when it can
    message = tr(run.reason["key"], **run.reason) if run.reason else run.message
    if run.status in ("failed", "diverged"):
        notes.error(tr(f"app.status.{run.status}") + " " + message)
    elif run.status == "interrupted":
        notes.warning(message)
    elif run.status == "stopped" and message:
        notes.info(message)
    error = run.checkpoint_error
    if error:
        notes.warning(tr("app.ckpt.failed", error=error))
    if run.info.get("warning"):
        notes.warning(run.info["warning"])
    note = run.info.get("step_note")
    if note:   # on a CUDA GPU without the captured step: say why it is slower
        notes.info(tr(note["key"], **note))
    if controls and can_control():
        control_buttons(run)
    return shown


def run_progress(run: Run):
    """Progress bar and the numbers under it: these change every step, so they
    live in the live fragment."""
    p = run.progress()
    bar = st.container()
    if p["total_steps"]:
        bar.progress(min(1.0, p["step"] / p["total_steps"]))
    c = st.columns(6)
    c[0].metric(tr("app.m.epoch"), f"{p['epoch']}/{p['num_epochs']}")
    c[1].metric(tr("app.m.step"), f"{p['step']:,}")
    c[2].metric(tr("app.m.ppl"), _fmt_ppl(p["perplexity"]))
    info = run.info
    c[3].metric(tr("val.m"), _fmt_ppl(p["val_perplexity"]), help=validation_text(info))
    c[4].metric(tr("app.m.speed"), f"{p['tokens_per_s']:,.0f}",
                help=tr("app.m.speed.help", device=info.get("device", "–"),
                        cores=info.get("cores", 1)) if info else None)
    c[5].metric(tr("app.m.eta"), _fmt_eta(p["eta_s"]) if run.status == "running" else "–")
    memorising_note(run)


def _fmt_ppl(ppl) -> str:
    if ppl is None or ppl != ppl:   # none yet, or NaN: no held-out text
        return "–"
    return f"{ppl:.2f}" if ppl < 1000 else f"{ppl:.2g}"


def validation_text(info: dict) -> str | None:
    """Which text the validation perplexity is measured on, in a sentence."""
    src = info.get("val_source")
    if src is None:
        return None
    return tr(f"val.{src}", n=info.get("val_tokens", 0))


def memorising_note(run: Run):
    """A warning when training perplexity is far below validation perplexity."""
    from ..results import memorising
    e = run.log.epoch_columns()
    if not len(e["epoch"]) or not memorising(e["perplexity"][-1], e["val_perplexity"][-1]):
        return
    val = e["val_perplexity"]
    best = int(np.nanargmin(val))
    st.warning(tr("val.memorising", train=e["perplexity"][-1], val=val[-1], best=val[best],
                  epoch=int(e["epoch"][best])), icon=":material/school:")
