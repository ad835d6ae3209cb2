"""Figures of the hidden state's structure: units in a similarity order, the
state projected to 2-D through training, saturation, the units that track a
feature of the text. Data in, Plotly figure (or escaped HTML) out."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from charrnn.i18n import t
from charrnn.style import BLUE, PALETTE, VERMILLION, visible_char
from charrnn.units import SATURATED, Projection, Tracker

from .base import layout, line, sizes
from .generate import activation_html

MAX_FRAMES = 40


def label_units(fig: go.Figure, order) -> go.Figure:
    """A heatmap figure drawn from H[..., order]: its rows are named by the
    units' own numbers (a category axis), so the hover still says which unit."""
    names = [str(int(u)) for u in order]
    for tr in fig.data:
        if isinstance(tr, go.Heatmap):
            tr.y = names
    fig.update_yaxes(type="category", showticklabels=False, ticks="")
    return fig


def _thin(items, n: int):
    """At most n items, evenly over the list, the last one always kept."""
    if len(items) <= n:
        return list(items)
    idx = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[i] for i in idx]


def pca_figure(snaps, proj: Projection, *, lane: int = 0, lang: str = "en",
               present: bool = False) -> go.Figure:
    """H_t of every probe lane projected on the run's two principal axes, one
    frame per kept snapshot (play or drag the slider). Each lane is a line
    through its time steps; the chosen lane's points carry their characters."""
    st = sizes(present)
    snaps = _thin(snaps, MAX_FRAMES)
    pts = [proj(s.H) for s in snaps]                      # (lanes, T, 2) each
    allp = np.concatenate([p.reshape(-1, 2) for p in pts])
    lo, hi = allp.min(0), allp.max(0)
    pad = 0.08 * np.maximum(hi - lo, 1e-6)

    def traces(s, p):
        out = []
        for i, ln in enumerate(s.lanes):
            chars = [visible_char(c) for c in s.inputs[i]]
            mine = ln == lane
            out.append(go.Scatter(
                x=p[i, :, 0], y=p[i, :, 1], name=t("fig.lanes.lane", lang, lane=ln),
                mode="lines+markers+text" if mine else "lines+markers",
                text=chars, textposition="top center",
                textfont=dict(size=st["font"] - (2 if present else 3)),
                customdata=np.arange(len(chars)),
                hovertemplate="t %{customdata}: %{text}<extra>%{fullData.name}</extra>",
                line=dict(color=PALETTE[i % len(PALETTE)],
                          width=st["line"] if mine else st["thin"]),
                marker=dict(size=st["marker"] + (3 if mine else 0)),
                opacity=1.0 if mine else 0.45))
        return out

    fig = go.Figure(traces(snaps[-1], pts[-1]))
    label = t("views.pca.frame", lang)
    fig.frames = [go.Frame(data=traces(s, p), name=str(s.step)) for s, p in zip(snaps, pts)]
    steps = [dict(method="animate", label=str(s.step),
                  args=[[str(s.step)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                            transition=dict(duration=0))]) for s in snaps]
    fig.update_layout(
        sliders=[dict(active=len(snaps) - 1, steps=steps, x=0.08, len=0.9, y=0,
                      yanchor="top", pad=dict(t=75 if present else 55),
                      currentvalue=dict(prefix=label + " ", font=dict(size=st["font"])),
                      font=dict(size=st["font"] - 2))],
        updatemenus=[dict(type="buttons", x=0, y=0, xanchor="left", yanchor="top",
                          pad=dict(t=75 if present else 55), showactive=False, buttons=[dict(
                              label="▶", method="animate",
                              args=[None, dict(frame=dict(duration=400, redraw=True),
                                               fromcurrent=False, transition=dict(duration=0))])])])
    ev = proj.explained * 100
    layout(fig, title=t("views.pca.title", lang), lang=lang, present=present, uirevision=None,
            x_title=t("views.pca.axis", lang, k=1, share=ev[0]),
            y_title=t("views.pca.axis", lang, k=2, share=ev[1]),
            height=(560 if present else 480), legend=True)
    fig.update_xaxes(range=[lo[0] - pad[0], hi[0] + pad[0]], zeroline=True)
    fig.update_yaxes(range=[lo[1] - pad[1], hi[1] + pad[1]], zeroline=True)
    # the slider sits under the plot, the legend above it
    fig.update_layout(margin_b=fig.layout.margin.b + (140 if present else 110),
                      legend=dict(y=1.0, yanchor="bottom", yref="paper"))
    return fig


def saturation_figure(steps, shares, *, threshold: float = SATURATED, lang: str = "en",
                      present: bool = False, uirevision=None) -> go.Figure:
    """The share of |h| above the threshold in each kept snapshot, in percent."""
    st = sizes(present)
    y = np.asarray(shares, dtype=float) * 100
    hover = f"{t('fig.hover.step', lang)} %{{x}}<br>%{{y:.1f}}%<extra></extra>"
    fig = go.Figure(line(steps, y, t("views.sat.name", lang, th=threshold), VERMILLION,
                          st["line"], hover=hover))
    fig.data[0].mode = "lines+markers"
    fig.data[0].marker = dict(size=st["marker"])
    fig = layout(fig, title=t("views.sat.title", lang, th=threshold), lang=lang,
                  present=present, uirevision=uirevision, x_title=t("fig.axis.step", lang),
                  y_title=t("views.sat.y", lang), legend=False,
                  height=(420 if present else 320))
    fig.update_yaxes(rangemode="tozero")
    return fig


def trackers_html(trackers: list[Tracker], chars, H, C=None, *, lang: str = "en") -> str:
    """Each found unit over a stretch of text (`chars`; H and C: (len, units)),
    with its correlation. Values are scaled by the stretch's largest |value|
    when that exceeds 1 (an LSTM cell, a ReLU unit), so colours stay readable."""
    parts = []
    for k in trackers:
        rows = H if k.state == "H" else C
        v = np.asarray(rows, dtype=float)[:, k.unit]
        m = max(1.0, float(np.abs(v).max()) if v.size else 1.0)
        name = f"{'h' if k.state == 'H' else 'c'}[{k.unit}]"
        colour = VERMILLION if k.r > 0 else BLUE
        parts.append(
            f'<div style="margin:0.6em 0 0.2em 0"><b>{html.escape(name)}</b> · '
            f'<span style="color:{colour}">r = {k.r:+.2f}</span>'
            + (f" · {html.escape(t('views.track.scaled', lang, m=m))}" if m > 1 else "")
            + "</div>" + activation_html(chars, v / m, unit=k.unit))
    return "".join(parts)
