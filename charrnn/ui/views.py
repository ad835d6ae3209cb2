"""Page pieces of the views that teach: a run's fixed unit order and 2-D axes,
starting a run like another with one setting changed, and the cliff panel."""
from __future__ import annotations

import threading

import streamlit as st

from .. import cliff, units
from ..config import ConfigError, RunConfig
from ..figures.cliff import cliff_figure
from ..runs import Run
from .core import can_control, error_text, get_registry, tr
from .live import PLOTLY_CONFIG

_lock = threading.Lock()
_structures: dict = {}   # run id -> Structure


class Structure:
    """A run's unit order and PCA axes, from the snapshots kept when computed."""

    def __init__(self, snaps, active: bool):
        states = units.stack_states(snaps)
        self.order, self.proj = units.structure(states)
        self.n, self.first, self.last = len(snaps), snaps[0].step, snaps[-1].step
        self.active = active
        self.width = states.shape[1]


def structure(run: Run, snaps) -> Structure:
    """Fixed for the run, so frames compare: computed once, again only when
    the snapshots kept have doubled while it trains (early states say little)
    and once more when it has ended."""
    with _lock:
        got = _structures.get(run.id)
    stale = (got is None or got.width != snaps[-1].H.shape[-1]
             or (got.active and (len(snaps) >= 2 * got.n or not run.is_active)))
    if stale:
        got = Structure(snaps, run.is_active)
        with _lock:
            _structures[run.id] = got
    return got


def start_like(run: Run, **changes) -> Run | None:
    """A new run with `run`'s settings and these changes, through the registry;
    only a browser that may control runs can (the presenter key)."""
    if not can_control():
        st.error(tr("app.key.needed"))
        return None
    try:
        cfg = RunConfig.from_dict({**run.config.to_dict(), **changes, "name": ""})
        new = get_registry().create(cfg)
    except (ConfigError, ValueError) as exc:
        st.error(error_text(exc))
        return None
    return new


def cliff_panel(lang: str, present: bool):
    """Pascanu's one-unit cliff with a start point and θ the user picks."""
    st.subheader(tr("views.cliff"))
    st.caption(tr("views.cliff.help", lr=cliff.LR))
    c1, c2, c3 = st.columns(3)
    w0 = c1.slider(tr("views.cliff.w0"), *cliff.W_RANGE, 8.0, 0.1, key="cliff_w0")
    b0 = c2.slider(tr("views.cliff.b0"), *cliff.B_RANGE, -5.5, 0.1, key="cliff_b0")
    # the one-unit net's norms are ~10-30 off the wall: 20 clips only at the wall
    th = c3.slider(tr("views.cliff.theta"), 1.0, 100.0, 20.0, 1.0, key="cliff_theta")
    st.plotly_chart(cliff_figure(w0, b0, th, lang=lang, present=present), key="cliff_fig",
                    config=PLOTLY_CONFIG)
