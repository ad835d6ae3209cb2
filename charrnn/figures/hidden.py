"""Charts of the hidden state: one lane, several lanes, the carried state, dL/dH."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charrnn.i18n import t
from charrnn.style import BLACK, DIVERGING

from .base import char_axis, colourbar, heat_range, layout, sizes


def _hidden_heatmap(H, chars, *, targets=None, batch=None, lang, **extra) -> go.Heatmap:
    """Heatmap of H (num_steps, num_hiddens): x = time step, y = hidden unit.

    The characters label the time axis. They are not repeated per cell for
    the hover: a per-cell array of strings was 60% of the figure's JSON
    (350 of 577 KiB at 35 x 512) and most of its serialisation time, sent to
    every watching browser every second. `batch` (one minibatch number per
    time step) is numeric, so it travels as a compact typed array.
    """
    H = np.asarray(H, dtype=np.float32)  # float32: a compact typed array in the JSON
    n_steps, n_hid = H.shape
    if len(chars) != n_steps:
        raise ValueError(f"{len(chars)} characters for {n_steps} time steps")
    if targets is not None and len(targets) != n_steps:
        raise ValueError(f"{len(targets)} targets for {n_steps} time steps")
    hover = (f"{t('fig.hover.t', lang)} %{{x}}<br>"
             f"{t('fig.hover.unit', lang)} %{{y}}<br>"
             f"{t('fig.hover.value', lang)} %{{z:.3f}}<extra></extra>")
    if batch is not None:
        extra["customdata"] = np.broadcast_to(
            np.asarray(batch, dtype=np.int32), (n_hid, n_steps)).copy()
        hover = f"{t('fig.hover.minibatch', lang)} %{{customdata}}<br>" + hover
    return go.Heatmap(z=H.T, x=np.arange(n_steps), y=np.arange(n_hid),
                      hovertemplate=hover, **extra)


def hidden_heatmap_figure(H, inputs, *, targets=None, lane=None, step=None,
                          lang: str = "en", present: bool = False,
                          uirevision: str | None = None) -> go.Figure:
    """Hidden state of one batch lane at every time step (units x time)."""
    H = np.asarray(H, dtype=float)
    chars = list(inputs)
    m = heat_range(H)
    fig = go.Figure(_hidden_heatmap(
        H, chars, targets=None if targets is None else list(targets), lang=lang,
        colorscale=DIVERGING, zmin=-m, zmax=m, zmid=0,
        colorbar=colourbar(t("fig.hidden.colour", lang), present)))
    parts = [t("fig.hidden.title", lang)]
    if lane is not None:
        parts.append(t("fig.hidden.lane", lang, lane=lane))
    if step is not None:
        parts.append(t("fig.hidden.step", lang, step=step))
    char_axis(fig, chars, present)
    fig.update_yaxes(showgrid=False)
    return layout(fig, title=" · ".join(parts), lang=lang, present=present,
                  uirevision=uirevision, x_title=t("fig.axis.time_step", lang),
                  y_title=t("fig.axis.hidden_unit", lang), legend=False)


def lanes_figure(H, inputs, *, lanes, lang: str = "en", present: bool = False,
                 uirevision: str | None = None) -> go.Figure:
    """One heatmap per lane, stacked, sharing the time axis and the colour bar.

    H is (num_lanes, num_steps, num_hiddens); inputs is one character list
    per lane. Each subplot's x ticks are that lane's own characters.
    """
    H = np.asarray(H, dtype=float)
    lanes = list(lanes)
    if H.ndim != 3 or H.shape[0] != len(lanes) or len(inputs) != len(lanes):
        raise ValueError("H must be (num_lanes, num_steps, num_hiddens) with one "
                         "input list and one lane id per lane")
    n = len(lanes)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True,
                        vertical_spacing=min(0.12, 0.35 / max(n, 1)),
                        subplot_titles=[t("fig.lanes.lane", lang, lane=ln) for ln in lanes])
    for i, (h, chars) in enumerate(zip(H, inputs), start=1):
        chars = list(chars)
        fig.add_trace(_hidden_heatmap(h, chars, lang=lang, coloraxis="coloraxis"),
                      row=i, col=1)
        char_axis(fig, chars, present, row=i, col=1)
        fig.update_xaxes(showticklabels=True, row=i, col=1)
        fig.update_yaxes(title_text=t("fig.axis.hidden_unit", lang), showgrid=False,
                         row=i, col=1)
    m = heat_range(H)
    fig.update_layout(coloraxis=dict(
        colorscale=DIVERGING, cmin=-m, cmax=m, cmid=0,
        colorbar=colourbar(t("fig.hidden.colour", lang), present)))
    fig.update_xaxes(title_text=t("fig.axis.time_step", lang), row=n, col=1)
    st = sizes(present)
    per_lane = 190 if not present else 250
    layout(fig, title=t("fig.lanes.title", lang), lang=lang, present=present,
           uirevision=uirevision, legend=False, height=120 + per_lane * n)
    # subplot titles are annotations; give them the base font size too
    fig.update_annotations(font_size=st["font"])
    return fig


def carried_state_figure(H_seq, inputs_seq, *, lane, lang: str = "en",
                         present: bool = False, uirevision: str | None = None) -> go.Figure:
    """One lane over consecutive minibatches joined along time.

    Dashed lines mark the minibatch boundaries, where (with sequential
    partitioning) the state is carried over, detached from the graph.
    """
    if len(H_seq) == 0 or len(H_seq) != len(inputs_seq):
        raise ValueError("need one input list per hidden-state array (and at least one)")
    H = np.concatenate([np.asarray(h, dtype=float) for h in H_seq], axis=0)
    chars = [c for seq in inputs_seq for c in seq]
    lengths = [np.asarray(h).shape[0] for h in H_seq]
    m = heat_range(H)
    batch = np.repeat(np.arange(1, len(lengths) + 1), lengths)  # for the hover
    fig = go.Figure(_hidden_heatmap(
        H, chars, batch=batch, lang=lang, colorscale=DIVERGING, zmin=-m, zmax=m,
        zmid=0, colorbar=colourbar(t("fig.hidden.colour", lang), present)))
    st = sizes(present)
    for b in np.cumsum(lengths)[:-1]:
        fig.add_vline(x=b - 0.5, line=dict(color=BLACK, width=st["line"], dash="dash"))
        fig.add_annotation(x=b - 0.5, xref="x", y=1.0, yref="paper", yanchor="bottom",
                           text=t("fig.carried.boundary", lang), showarrow=False,
                           font=dict(size=max(11, st["font"] - 3)),
                           bgcolor="rgba(255,255,255,0.85)")
    char_axis(fig, chars, present)
    fig.update_yaxes(showgrid=False)
    layout(fig, title=t("fig.carried.title", lang, lane=lane), lang=lang,
           present=present, uirevision=uirevision,
           x_title=t("fig.axis.time_step", lang),
           y_title=t("fig.axis.hidden_unit", lang), legend=False,
           height=440 if not present else 580)
    fig.update_layout(margin_t=110 if not present else 150)  # room for boundary labels
    return fig


def dh_heatmap_figure(steps, dH, *, lang: str = "en", present: bool = False,
                      uirevision: str | None = None) -> go.Figure:
    """||dL/dH_t|| per time step t (x) for each snapshot (y), colour in log10.

    Rows are evenly spaced (snapshots may be thinned unevenly); the y tick
    labels and the hover give the real training step.
    """
    steps = np.asarray(steps)
    dH = np.asarray(dH, dtype=float)
    if dH.ndim != 2 or dH.shape[0] != len(steps):
        raise ValueError("dH must be (num_snapshots, num_steps) with one step per row")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(np.isfinite(dH) & (dH > 0), np.log10(dH), np.nan)
    finite = z[np.isfinite(z)]
    lo, hi = (math.floor(finite.min()), math.ceil(finite.max())) if finite.size else (-3, 0)
    if hi == lo:
        hi = lo + 1
    decades = np.arange(lo, hi + 1)
    every = max(1, math.ceil(len(decades) / 8))
    decades = decades[::every]
    rows = np.arange(len(steps))
    custom = np.tile(steps.astype(object)[:, None], (1, dH.shape[1]))
    text = np.vectorize(lambda v: f"{v:.3g}")(dH) if dH.size else dH
    fig = go.Figure(go.Heatmap(
        z=z, x=np.arange(dH.shape[1]), y=rows, colorscale="Viridis", zmin=lo, zmax=hi,
        customdata=custom, text=text,
        colorbar=colourbar(t("fig.dh.colour", lang), present, tickmode="array",
                           tickvals=decades, ticktext=[f"1e{d}" for d in decades]),
        hovertemplate=(f"{t('fig.hover.step', lang)} %{{customdata}}<br>"
                       f"{t('fig.hover.t', lang)} %{{x}}<br>"
                       f"{t('fig.dh.norm', lang)} %{{text}}<extra></extra>"),
    ))
    every = max(1, math.ceil(len(rows) / 12))  # at most ~12 step labels
    fig.update_yaxes(tickmode="array", tickvals=rows[::every],
                     ticktext=[str(s) for s in steps[::every]], showgrid=False)
    fig.update_xaxes(showgrid=False)
    return layout(fig, title=t("fig.dh.title", lang), lang=lang, present=present,
                  uirevision=uirevision, x_title=t("fig.axis.time_step", lang),
                  y_title=t("fig.axis.step", lang), subtitle=t("fig.dh.subtitle", lang),
                  legend=False)
