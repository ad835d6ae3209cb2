"""The grid figure: still, one phase lit, or animated with a slider and play/pause."""
from __future__ import annotations

import plotly.graph_objects as go

from .grid import grid_base
from .highlight import phase_traces
from .phases import phases
from .spec import DiagramSpec


def grid_figure(spec: DiagramSpec, phase=None) -> go.Figure:
    """The lane grid; with `phase` (an index into phases(spec)) that phase lit."""
    fig, g, st = grid_base(spec)
    ph = None
    if phase is not None:
        all_phases = phases(spec)
        ph = all_phases[int(phase)] if not isinstance(phase, dict) else phase
    for tr in phase_traces(spec, g, st, ph):
        fig.add_trace(tr)
    return fig


def animated_figure(spec: DiagramSpec, duration_ms=600, start=0) -> go.Figure:
    """One training iteration as plotly frames, with a slider and play/pause.

    Playing, pausing and scrubbing (click or drag the slider: one step per
    phase) all run in the browser.  Frame k is named str(k) and lights
    phases(spec)[k]; the figure opens on phase `start` (the page's step
    buttons move it).
    """
    extra = 120 if spec.present else 100
    fig, g, st = grid_base(spec, extra)
    ph = phases(spec)
    start = min(max(int(start), 0), len(ph) - 1)
    first = phase_traces(spec, g, st, ph[start])
    for tr in first:
        fig.add_trace(tr)
    idx = list(range(1, 1 + len(first)))
    fig.frames = [go.Frame(name=str(p["index"]), data=phase_traces(spec, g, st, p),
                           traces=idx) for p in ph]
    steps = [_slider_step(p, len(ph) > 24, spec.num_steps) for p in ph]
    play, pause, restart = _buttons(st, duration_ms, ph[0]["index"])
    fsize = st.small
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", showactive=False,
                          x=0.0, y=0.0, xanchor="left", yanchor="top",
                          pad=dict(t=10, r=10), font=dict(size=fsize),
                          buttons=[play, pause, restart])],
        sliders=[dict(active=start, steps=steps, x=0.30, len=0.70, y=0.0,
                      xanchor="left", yanchor="top", pad=dict(t=12, b=10),
                      currentvalue=dict(visible=False),
                      font=dict(size=fsize),
                      transition=dict(duration=0))],
        margin=dict(l=10, r=10, t=70 if st.present else 56, b=extra),
        title=dict(text=st.tr("diag.title.anim", B=spec.batch_size,
                              T=spec.num_steps)),
    )
    return fig


_NOW = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))


def _slider_step(p, many, T):
    """One slider stop per phase; with many, only every 5th time step is named."""
    label = p["label"]
    if many and p["kind"] in ("forward", "backward") and p["t"] not in (1, T) and p["t"] % 5:
        label = ""
    return dict(method="animate", label=label, args=[[str(p["index"])], dict(_NOW)])


def _buttons(st, duration_ms, first):
    """Play (from the current frame), pause, and back to the first phase."""
    play = dict(label=st.tr("diag.anim.play"), method="animate",
                args=[None, dict(frame=dict(duration=int(duration_ms), redraw=True),
                                 fromcurrent=True, transition=dict(duration=0),
                                 mode="immediate")])
    pause = dict(label=st.tr("diag.anim.pause"), method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False),
                                    mode="immediate", transition=dict(duration=0))])
    restart = dict(label=st.tr("diag.anim.restart"), method="animate",
                   args=[[str(first)], dict(_NOW)])
    return play, pause, restart
