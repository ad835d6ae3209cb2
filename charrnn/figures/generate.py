"""What the generator saw: top-k candidates per step, and activations over text."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from charrnn.i18n import t
from charrnn.style import DIVERGING, VERMILLION, rgb, visible_char

from .base import char_axis, colourbar, layout, sizes


def topk_figure(chars, probs, *, generated=None, lang: str = "en", present: bool = False,
                uirevision: str | None = None) -> go.Figure:
    """Top-k next-character candidates at each generation step.

    x = generation step (ticks: the chosen character), y = rank (1 on top),
    colour = probability, each cell shows its candidate character. The
    chosen candidate is outlined when `generated` is given.
    """
    st = sizes(present)
    chars = np.asarray(chars, dtype=object)
    probs = np.asarray(probs, dtype=float)
    if chars.shape != probs.shape or chars.ndim != 2:
        raise ValueError("chars and probs must both be (num_preds, k)")
    n, k = probs.shape
    shown = np.vectorize(visible_char, otypes=[object])(chars) if chars.size else chars
    fig = go.Figure(go.Heatmap(
        z=probs.T, x=np.arange(n), y=np.arange(1, k + 1), text=shown.T,
        texttemplate="%{text}", textfont=dict(size=st["font"]),
        colorscale="Blues", zmin=0, zmax=1,
        colorbar=colourbar(t("fig.topk.prob", lang), present),
        hovertemplate=(f"{t('fig.hover.step', lang)} %{{x}}<br>"
                       f"{t('fig.axis.rank', lang)} %{{y}}<br>"
                       f"{t('fig.hover.candidate', lang)} %{{text}}<br>"
                       f"{t('fig.topk.prob', lang)} %{{z:.3f}}<extra></extra>"),
    ))
    if generated is not None:
        generated = list(generated)
        if len(generated) != n:
            raise ValueError(f"{len(generated)} generated characters for {n} steps")
        hit_x, hit_y = [], []
        for i, g in enumerate(generated):
            ranks = np.flatnonzero(chars[i] == g)
            if ranks.size:
                hit_x.append(i)
                hit_y.append(ranks[0] + 1)
        fig.add_trace(go.Scatter(
            x=np.asarray(hit_x), y=np.asarray(hit_y), mode="markers",
            name=t("fig.topk.chosen", lang), hoverinfo="skip",
            marker=dict(symbol="square-open", size=30 if present else 20,
                        color=VERMILLION, line=dict(width=st["line"]))))
        char_axis(fig, generated, present)
    # fixed ranges: the markers must not add autorange padding around the cells
    fig.update_xaxes(showgrid=False, range=[-0.5, n - 0.5])
    fig.update_yaxes(range=[k + 0.5, 0.5], showgrid=False, dtick=1)
    return layout(fig, title=t("fig.topk.title", lang, k=k), lang=lang, present=present,
                  uirevision=uirevision, x_title=t("fig.axis.gen_step", lang),
                  y_title=t("fig.axis.rank", lang), legend=generated is not None,
                  height=max(st["height"] - 40, 140 + 34 * k * (1.5 if present else 1)))


def _activation_colour(v: float) -> tuple[str, str]:
    """(background, text colour) for v in -1..1: blue < 0, white 0, red > 0."""
    if not np.isfinite(v):
        return "transparent", "inherit"
    v = max(-1.0, min(1.0, float(v)))
    end = rgb(DIVERGING[-2][1] if v > 0 else DIVERGING[1][1])  # the heatmaps' red / blue
    a = abs(v)
    r, g, b = (round(255 + (c - 255) * a) for c in end)
    return f"rgb({r},{g},{b})", ("#ffffff" if a > 0.6 else "#000000")


def activation_html(chars, values, *, unit=None) -> str:
    """Karpathy-style text: each character's background encodes a value.

    `chars` is a string or a sequence of characters, `values` one number per
    character (-1..1; larger ones saturate). Every character is HTML-escaped.
    """
    chars = list(chars)
    values = np.asarray(values, dtype=float)
    if values.shape != (len(chars),):
        raise ValueError(f"{len(chars)} characters but values of shape {values.shape}")
    label = "h" if unit is None else f"h[{int(unit)}]"
    out = ['<div class="charrnn-activation" style="font-family: ui-monospace, '
           'Menlo, Consolas, monospace; line-height: 1.7; white-space: pre-wrap; '
           'word-break: break-all;">']
    for c, v in zip(chars, values):
        bg, fg = _activation_colour(v)
        tip = html.escape(f"{label} = {v:+.3f}", quote=True)
        shown = "↵" if c == "\n" else html.escape(c, quote=True)
        out.append(f'<span style="background-color:{bg};color:{fg}" '
                   f'title="{tip}">{shown}</span>')
        if c == "\n":
            out.append("<br>")
    out.append("</div>")
    return "".join(out)
