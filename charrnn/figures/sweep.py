"""A sweep's objective against each setting it varies (small multiples, as
TensorBoard's HParams and W&B's sweep views show them)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charrnn.i18n import t
from charrnn.style import BLUE, VERMILLION

from .base import sizes


def objective_figure(table, varied: list[str], *, metric: str = "val_perplexity",
                     lang: str = "en", present: bool = False) -> go.Figure:
    """One panel per varied setting: each run's `metric` (a dot) at its value
    of the setting, the best run in vermillion. `table`: results.results_table."""
    st = sizes(present)
    varied = varied or ["name"]
    fig = make_subplots(rows=1, cols=len(varied), shared_yaxes=True,
                        subplot_titles=varied, horizontal_spacing=0.04)
    y = np.asarray(table[metric], dtype=float) if len(table) else np.array([])
    best = np.asarray(table["best"], dtype=bool) if len(table) else np.array([], bool)
    for i, name in enumerate(varied, 1):
        x = [str(v) for v in table[name]] if len(table) else []
        for mask, color, label in ((~best, BLUE, "runs"), (best, VERMILLION, "best")):
            fig.add_trace(go.Scatter(
                x=[v for v, m in zip(x, mask) if m], y=y[mask], mode="markers",
                marker=dict(color=color, size=st["marker"] + 6), name=t(f"res.{label}", lang)
                if label == "best" else t("res.run", lang), showlegend=i == 1,
                customdata=np.asarray(table["name"])[mask] if len(table) else [],
                hovertemplate="%{customdata}<br>" + name + "=%{x}<br>%{y:.3f}<extra></extra>"),
                row=1, col=i)
        fig.update_xaxes(type="category", row=1, col=i)
    fig.update_yaxes(title_text=t("res.val", lang), row=1, col=1, type="log")
    fig.update_layout(title=t("res.objective", lang), height=320 if not present else 420,
                      margin=dict(l=60, r=20, t=70, b=40), font=dict(size=st.get("font", 13)))
    return fig
