"""Charts of the training loop: loss, perplexity, gradient norm, parameter norms,
W_hh's spectrum, and several runs compared."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charrnn.i18n import t
from charrnn.style import BLACK, BLUE, GREEN, MUTED, ORANGE, PALETTE, VERMILLION

from .base import (CLIP_WINDOW, downsample, ewm, hline, hover_xy, layout, line, positive,
                   sizes, window_for)


def loss_figure(steps, loss, *, smooth: float | None = None, lang: str = "en",
                present: bool = False, uirevision: str | None = None) -> go.Figure:
    """Training loss per step: raw as a thin line, plus an EWM line if `smooth`."""
    st = sizes(present)
    steps = np.asarray(steps)
    loss = np.asarray(loss, dtype=float)
    hover = hover_xy(t("fig.hover.step", lang), t("fig.loss.y", lang))
    fig = go.Figure()
    fig.add_trace(line(steps, loss, t("fig.loss.raw", lang), BLUE,
                       st["thin"] if smooth else st["line"], hover=hover,
                       opacity=0.45 if smooth else None))
    if smooth:
        fig.add_trace(line(steps, ewm(loss, smooth),
                           t("fig.loss.smooth", lang, alpha=smooth),
                           VERMILLION, st["line"], hover=hover))
    return layout(fig, title=t("fig.loss.title", lang), lang=lang, present=present,
                  uirevision=uirevision, x_title=t("fig.axis.step", lang),
                  y_title=t("fig.loss.y", lang))


def perplexity_figure(epochs, perplexity, *, val_perplexity=None, lang: str = "en",
                      present: bool = False, uirevision: str | None = None) -> go.Figure:
    """Perplexity per epoch (as d2l plots it) on the training text, and on the
    held-out text when given; log y if it spans more than 10x."""
    st = sizes(present)
    fig = go.Figure()
    spans = []
    lines = [("fig.ppl.line", perplexity, BLUE, None)]
    if val_perplexity is not None and np.isfinite(np.asarray(val_perplexity, float)).any():
        lines.append(("fig.ppl.val", val_perplexity, ORANGE, "dash"))
    for key, values, color, dash in lines:
        x, y = positive(epochs, values)  # inf (diverged) and nan are dropped
        spans.extend(y.tolist())
        xs, ys = downsample(x, y)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers" if len(xs) <= 200 else "lines",
            name=t(key, lang), line=dict(color=color, width=st["line"], dash=dash),
            marker=dict(size=st["marker"]),
            hovertemplate=hover_xy(t("fig.hover.epoch", lang), t(key, lang))))
    log_y = bool(spans) and max(spans) / min(spans) > 10
    return layout(fig, title=t("fig.ppl.title", lang), lang=lang, present=present,
                  uirevision=uirevision, x_title=t("fig.axis.epoch", lang),
                  y_title=t("fig.ppl.y", lang), log_y=log_y, legend=len(lines) > 1)


def clip_rates(clipped, window: int = CLIP_WINDOW) -> tuple[float, float]:
    """(fraction clipped in the last `window` steps, fraction clipped overall)."""
    c = np.asarray(clipped, dtype=bool)
    if c.size == 0:
        return 0.0, 0.0
    return float(c[-window:].mean()), float(c.mean())


def grad_norm_figure(steps, norm_before, norm_after, clipped, theta, *,
                     smooth: float | None = None, lang: str = "en",
                     present: bool = False, uirevision: str | None = None,
                     reference_theta: float | None = None,
                     diverged: tuple[int, str] | None = None,
                     legend_width: int = 450) -> go.Figure:
    """Gradient L2 norm per step before and after clipping, on a log y axis.

    Marks the clipped steps on the before-curve, draws theta as a dashed
    line (none when theta is None or 0: clipping off), and shows the clip
    rate (last CLIP_WINDOW steps and overall) in the subtitle and as a
    0..1 curve on a secondary axis. With `smooth`, the raw curve stays
    visible and a rolling max envelope keeps the spikes in view.
    Clipping off, `reference_theta` (the clipped preset's) is drawn as a grey
    reference line; `diverged` = (step, why) marks where the run diverged.
    `legend_width`: the plot's width on the page (its legend's rows).
    """
    st = sizes(present)
    steps = np.asarray(steps)
    before = np.asarray(norm_before, dtype=float)
    after = None if norm_after is None else np.asarray(norm_after, dtype=float)
    clipped = (np.zeros(len(steps), bool) if clipped is None
               else np.asarray(clipped, dtype=bool))
    clipping_on = theta is not None and theta > 0
    hover = hover_xy(t("fig.hover.step", lang), t("fig.grad.hover", lang))
    fig = go.Figure()
    _norm_lines(fig, steps, before, after, smooth, st, lang, hover)
    if clipped.any():
        # markers sit exactly at clipped steps (thinned only if there are very many)
        cx, cy = downsample(*positive(steps[clipped], before[clipped]))
        fig.add_trace(go.Scatter(
            x=cx, y=cy, mode="markers", name=t("fig.grad.clipped", lang),
            marker=dict(symbol="circle", size=st["marker"], color=BLACK, opacity=0.75),
            hovertemplate=hover,
        ))
    if clipping_on:
        _theta_line(fig, steps, theta, st, lang, present)
        recent, overall = clip_rates(clipped)
        subtitle = t("fig.grad.subtitle", lang, recent=recent, overall=overall,
                     window=min(CLIP_WINDOW, len(clipped)), total=len(clipped))
        _rate_line(fig, steps, clipped, st, lang)
    else:
        subtitle = t("fig.grad.off", lang)
        if reference_theta and len(steps):
            fig.add_trace(go.Scatter(
                x=np.array([steps[0], steps[-1]]), y=np.array([float(reference_theta)] * 2),
                mode="lines", name=t("fig.grad.reference", lang, theta=reference_theta),
                hoverinfo="skip", line=dict(color=MUTED, width=st["line"], dash="dash")))
    if diverged is not None:
        _mark_divergence(fig, steps, before, diverged, st, lang, present)
    layout(fig, title=t("fig.grad.title", lang), lang=lang, present=present,
           uirevision=uirevision, x_title=t("fig.axis.step", lang),
           y_title=t("fig.grad.y", lang), log_y=True, subtitle=subtitle,
           height=(460 if not present else 600), legend_width=legend_width)
    if clipping_on:  # after layout, which would restyle this axis like the others
        _rate_axis(fig, st, lang)
    return fig


def _mark_divergence(fig, steps, before, diverged, st, lang, present=False):
    """A cross at the largest finite norm up to the step the run diverged at,
    and a dotted vertical line there labelled with where and why (on a
    projector only there: a legend row would take the plot's height)."""
    step, why = diverged
    label = t("fig.grad.diverged", lang, step=step)
    finite = (steps <= step) & np.isfinite(before) & (before > 0)
    anchor = step
    if finite.any():
        i = int(np.flatnonzero(finite)[np.argmax(before[finite])])
        fig.add_trace(go.Scatter(
            x=[steps[i]], y=[before[i]], mode="markers", name=label, showlegend=not present,
            marker=dict(symbol="x-thin", size=st["marker"] * 3, color=BLACK,
                        line=dict(width=st["line"] + 1, color=BLACK)),
            hovertemplate=f"{label}<br>{why}<extra></extra>"))
        anchor = steps[i]
    fig.add_shape(type="line", xref="x", x0=step, x1=step, yref="paper", y0=0, y1=1,
                  line=dict(color=BLACK, width=st["line"], dash="dot"), layer="above")
    # left of the cross (at the top, just before the line): neither hides the other
    fig.add_annotation(xref="x", x=anchor, xanchor="right", xshift=-2.5 * st["marker"],
                       yref="paper", y=0.98, yanchor="top", showarrow=False, align="right",
                       text=f"<b>{label}</b><br>{why}", font=dict(size=st["font"], color=BLACK),
                       bgcolor="rgba(255,255,255,0.85)")


def _norm_lines(fig, steps, before, after, smooth, st, lang, hover):
    """The norm before clipping (raw, or faint raw + max envelope + EWM), then after."""
    name_before = t("fig.grad.before", lang)
    x, y = positive(steps, before)
    if smooth:
        window = window_for(smooth)
        fig.add_trace(line(x, y, name_before, VERMILLION, st["thin"], opacity=0.35,
                           hover=hover))
        env = pd.Series(before).rolling(window, min_periods=1).max().to_numpy()
        fig.add_trace(line(*positive(steps, env),
                           t("fig.grad.envelope", lang, window=window),
                           VERMILLION, st["thin"], dash="dot", hover=hover))
        fig.add_trace(line(*positive(steps, ewm(before, smooth)),
                           t("fig.grad.before_smooth", lang, alpha=smooth),
                           VERMILLION, st["line"], hover=hover))
    else:
        fig.add_trace(line(x, y, name_before, VERMILLION, st["line"], hover=hover))
    if after is not None and not np.array_equal(after, before, equal_nan=True):
        # raw even when smoothing: it is bounded by theta, and stays honest.
        # (With clipping off both curves are the same; draw it once.)
        fig.add_trace(line(*positive(steps, after), t("fig.grad.after", lang), BLUE,
                           st["line"], hover=hover))


def _theta_line(fig, steps, theta, st, lang, present):
    if len(steps):
        # theta as a dashed line with a legend entry: a label on the plot
        # would sit on the curve's end, where the reader looks
        fig.add_trace(go.Scatter(
            x=np.array([steps[0], steps[-1]]), y=np.array([float(theta)] * 2), mode="lines",
            name=t("fig.grad.theta", lang, theta=theta), hoverinfo="skip",
            line=dict(color=BLACK, width=st["line"], dash="dash")))
    else:
        hline(fig, float(theta), t("fig.grad.theta", lang, theta=theta),
              present=present, log_y=True)


def _rate_line(fig, steps, clipped, st, lang):
    """The share of clipped steps over the last CLIP_WINDOW, on the 0..1 axis."""
    rate = pd.Series(clipped.astype(float)).rolling(CLIP_WINDOW, min_periods=1).mean()
    fig.add_trace(line(steps, rate.to_numpy(),
                       t("fig.grad.rate", lang, window=CLIP_WINDOW), GREEN,
                       st["thin"], yaxis="y2",
                       hover=hover_xy(t("fig.hover.step", lang),
                                      t("fig.grad.rate_y", lang), ".0%")))


def _rate_axis(fig, st, lang):
    fig.update_layout(yaxis2=dict(
        overlaying="y", side="right", range=[0, 1], showgrid=False,
        tickmode="linear", tick0=0, dtick=0.25, zeroline=False,
        showline=True, linecolor=GREEN, ticks="outside", tickcolor=GREEN,
        tickformat=".0%", title=dict(text=t("fig.grad.rate_y", lang),
                                     font=dict(color=GREEN)),
        tickfont=dict(size=st["font"], color=GREEN)))


def param_norms_figure(steps, norms: dict, *, lang: str = "en", present: bool = False,
                       uirevision: str | None = None) -> go.Figure:
    """One line per parameter (names as the model calls them), log y."""
    st = sizes(present)
    fig = go.Figure()
    hover = hover_xy(t("fig.hover.step", lang), t("fig.params.hover", lang))
    for i, (name, values) in enumerate(norms.items()):
        fig.add_trace(line(*positive(steps, values), name,
                           PALETTE[i % len(PALETTE)], st["line"], hover=hover,
                           dash=None if i < len(PALETTE) else "dash"))
    return layout(fig, title=t("fig.params.title", lang), lang=lang, present=present,
                  uirevision=uirevision, x_title=t("fig.axis.step", lang),
                  y_title=t("fig.params.y", lang), log_y=True)


def spectral_figure(steps, radius, sigma_max, *, lang: str = "en", present: bool = False,
                    uirevision: str | None = None) -> go.Figure:
    """Spectral radius and largest singular value of W_hh, with a line at 1."""
    st = sizes(present)
    hover = hover_xy(t("fig.hover.step", lang), t("fig.spectral.y", lang))
    fig = go.Figure()
    fig.add_trace(line(steps, radius, t("fig.spectral.radius", lang), BLUE,
                       st["line"], hover=hover))
    fig.add_trace(line(steps, sigma_max, t("fig.spectral.sigma", lang), VERMILLION,
                       st["line"], dash="dot", hover=hover))
    hline(fig, 1.0, t("fig.spectral.one", lang), present=present, log_y=False)
    return layout(fig, title=t("fig.spectral.title", lang), lang=lang, present=present,
                  uirevision=uirevision, x_title=t("fig.axis.step", lang),
                  y_title=t("fig.spectral.y", lang))


def metrics_compare_figure(series: dict, *, y_title_key: str, log_y: bool = False,
                           x_title_key: str = "fig.axis.step", lang: str = "en",
                           present: bool = False,
                           uirevision: str | None = None) -> go.Figure:
    """One line per run (label -> (x, y)) to overlay a metric of several runs."""
    st = sizes(present)
    y_word = t(y_title_key, lang)
    hover = hover_xy(t(x_title_key, lang), y_word)
    fig = go.Figure()
    for i, (label, (x, y)) in enumerate(series.items()):
        x = np.asarray(x)
        y = np.asarray(y, dtype=float)
        if log_y:
            x, y = positive(x, y)
        fig.add_trace(line(x, y, str(label), PALETTE[i % len(PALETTE)], st["line"],
                           hover=hover,
                           dash=None if i < len(PALETTE) else "dash"))
    return layout(fig, title=t("fig.compare.title", lang, what=y_word), lang=lang,
                  present=present, uirevision=uirevision,
                  x_title=t(x_title_key, lang), y_title=y_word, log_y=log_y)
