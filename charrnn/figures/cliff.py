"""Pascanu et al.'s cliff as a small live figure: the one-unit RNN's loss over
(w, b) and gradient descent from a chosen start, with and without clipping."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from charrnn import cliff
from charrnn.i18n import t
from charrnn.style import BLACK, BLUE, VERMILLION

from .base import colourbar, layout, sizes


def _longest(path) -> float:
    d = np.diff(path, axis=0)
    return float(np.linalg.norm(d, axis=1).max()) if len(d) else 0.0


def cliff_figure(w0: float, b0: float, theta: float, *, lr: float = cliff.LR,
                 steps: int = 100, lang: str = "en", present: bool = False) -> go.Figure:
    st = sizes(present)
    w, b, L = cliff.surface()
    fig = go.Figure(go.Heatmap(
        x=w, y=b, z=np.log10(L + 1e-6).astype(np.float32), colorscale="Greys", reversescale=True,
        zmin=-3, zmax=2,   # the valley dark, the plateaus light, the wall between them
        colorbar=colourbar(t("views.cliff.colour", lang), present),
        hovertemplate="w %{x:.2f}<br>b %{y:.2f}<br>log10 L %{z:.2f}<extra></extra>"))
    for th, colour, key, dash in ((None, VERMILLION, "views.cliff.plain", "solid"),
                                  (theta, BLUE, "views.cliff.clipped", "dot")):
        p = cliff.descend(w0, b0, lr=lr, steps=steps, theta=th)
        fig.add_trace(go.Scatter(
            x=p[:, 0], y=p[:, 1], mode="lines+markers",
            name=t(key, lang, theta=theta, step=_longest(p)),
            line=dict(color=colour, width=st["line"], dash=dash),
            marker=dict(size=st["marker"] - 1),
            hovertemplate="w %{x:.2f}<br>b %{y:.2f}<extra>%{fullData.name}</extra>"))
    fig.add_trace(go.Scatter(x=[w0], y=[b0], mode="markers", name=t("views.cliff.start", lang),
                             marker=dict(symbol="x", size=st["marker"] + 8, color=BLACK)))
    layout(fig, title=t("views.cliff.title", lang), lang=lang, present=present,
            uirevision=None, x_title="w", y_title="b", height=560 if present else 460)
    fig.update_xaxes(range=list(cliff.W_RANGE), showgrid=False)
    fig.update_yaxes(range=list(cliff.B_RANGE), showgrid=False)
    return fig
