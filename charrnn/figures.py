"""Figure builders: data in, `plotly.graph_objects.Figure` out.

Pure functions (no streamlit, no torch) so every chart can be built and
checked in a test. Common keyword arguments of every builder:

- ``lang``: "en" or "zh"; every visible word comes from ``charrnn.i18n``.
- ``present``: presentation mode for a projector (bigger fonts and lines,
  higher contrast).
- ``uirevision``: passed to ``layout.uirevision`` so zoom survives redraws.

Only SVG ``go.Scatter`` is used, never ``go.Scattergl``: several WebGL
contexts on one page froze the browser in a trial. Long series are thinned
for display by ``downsample`` (min/max per bucket, so spikes survive).
"""
from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charrnn.i18n import t

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
GREEN = "#009E73"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
YELLOW = "#F0E442"
BLACK = "#000000"
PALETTE = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, BLACK, YELLOW)

# ColorBrewer RdBu, ordered so that negative = blue, 0 = white, positive = red
# (the same convention as activation_html).
DIVERGING = [
    [0.0, "#053061"], [0.15, "#2166ac"], [0.3, "#67a9cf"], [0.5, "#ffffff"],
    [0.7, "#ef8a62"], [0.85, "#b2182b"], [1.0, "#67001f"],
]

_FONTS_LATIN = '"Inter", "Helvetica Neue", Arial, "Noto Sans CJK SC", ' \
               '"Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
_FONTS_CJK = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", ' \
             '"Microsoft YaHei", "Inter", "Helvetica Neue", Arial, sans-serif'

_STYLE = {
    False: dict(font=14, title=18, line=1.8, thin=1.0, marker=4, height=400,
                grid="#e6e6e6", axis="#555555", text="#222222"),
    True: dict(font=22, title=28, line=3.0, thin=1.6, marker=7, height=540,
               grid="#b0b0b0", axis="#000000", text="#000000"),
}

MAX_POINTS = 2000
CLIP_WINDOW = 100

# Characters that would be invisible (or break a tick label) get a glyph.
_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


# ---------------------------------------------------------------- helpers
def downsample(x, y, max_points: int = MAX_POINTS):
    """Thin (x, y) to about ``max_points`` points for display.

    The interior is cut into buckets; each bucket keeps its minimum and its
    maximum (in time order), so a single spike is never lost. The first and
    last points are always kept. Returns numpy arrays.
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    n = len(y)
    if n <= max_points:
        return x, y
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    buckets = (max_points - 2) // 2
    edges = np.linspace(1, n - 1, buckets + 1).astype(int)
    # NaN must never win a bucket; +-inf may (a divergence is worth showing).
    nan = np.isnan(y)
    hi = np.where(nan, -np.inf, y)
    lo = np.where(nan, np.inf, y)
    keep = [0, n - 1]
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            keep.append(a + int(np.argmin(lo[a:b])))
            keep.append(a + int(np.argmax(hi[a:b])))
    idx = np.unique(keep)
    return x[idx], y[idx]


def _positive(x, y):
    """Keep only points a log axis can show (finite and > 0)."""
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y) & (y > 0)
    return x[ok], y[ok]


def _ewm(y, alpha: float) -> np.ndarray:
    if not 0 < alpha < 1:
        raise ValueError(f"smooth must be in (0, 1), got {alpha}")
    return pd.Series(np.asarray(y, dtype=float)).ewm(alpha=alpha).mean().to_numpy()


def _window_for(alpha: float) -> int:
    """Trailing window with the same span as an EWM of this alpha."""
    return max(2, int(round(2 / alpha - 1)))


def _show_char(c: str) -> str:
    """A character as plotly text: visible whitespace, HTML escaped."""
    return _VISIBLE.get(c, html.escape(c, quote=False))


def _line(x, y, name, colour, width, *, dash=None, opacity=None, yaxis=None,
          hover=None, visible=None, max_points=MAX_POINTS):
    xs, ys = downsample(x, y, max_points)
    return go.Scatter(
        x=xs, y=ys, mode="lines", name=name, opacity=opacity, yaxis=yaxis,
        line=dict(color=colour, width=width, dash=dash), visible=visible,
        hovertemplate=hover,
    )


def _hover_xy(x_word: str, y_word: str, y_fmt: str = ".4g") -> str:
    return f"{x_word} %{{x}}<br>{y_word} %{{y:{y_fmt}}}<extra>%{{fullData.name}}</extra>"


def _style(present: bool) -> dict:
    return _STYLE[bool(present)]


def _layout(fig: go.Figure, *, title: str, lang: str, present: bool,
            uirevision, x_title=None, y_title=None, log_y=False,
            subtitle=None, height=None, legend=True) -> go.Figure:
    """The look every chart shares: template, fonts, margins, grid, legend."""
    st = _style(present)
    legend_h = _legend_height(fig, present) if legend else 0
    one_row = int(st["font"] * 1.7) + 8
    fig.update_layout(
        template="plotly_white",
        # a legend of several rows adds height instead of squeezing the plot
        height=(height or st["height"]) + max(0, legend_h - one_row),
        font=dict(family=_FONTS_CJK if lang == "zh" else _FONTS_LATIN,
                  size=st["font"], color=st["text"]),
        title=dict(text=title, x=0.01, xanchor="left", yref="container",
                   y=0.98, yanchor="top", font=dict(size=st["title"], weight=600),
                   subtitle=dict(text=subtitle or "",
                                 font=dict(size=st["font"], color=st["text"]))),
        margin=dict(l=70 if not present else 100, r=30,
                    b=(60 if not present else 90) + legend_h,
                    t=(100 if subtitle else 70) + (30 if present else 0)),
        showlegend=legend,
        # below the plot, so it never collides with the title and subtitle
        legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0.005,
                    yanchor="bottom", font=dict(size=st["font"])),
        hoverlabel=dict(font=dict(size=st["font"])),
        uirevision=uirevision,
    )
    axis = dict(showline=True, linecolor=st["axis"], linewidth=2 if present else 1,
                gridcolor=st["grid"], ticks="outside", tickcolor=st["axis"],
                tickfont=dict(size=st["font"], color=st["text"]),
                title_font=dict(size=st["font"]), zeroline=False)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_layout(yaxis_title_text=y_title)
    if log_y:
        fig.update_layout(yaxis_type="log")
        vals = _log_ticks(fig)
        if vals:  # plotly's own labels read 0.5 as a bare "5" between decades
            fig.update_layout(yaxis_tickvals=vals, yaxis_ticktext=[f"{v:g}" for v in vals])
    return fig


def _log_ticks(fig: go.Figure) -> list[float]:
    """Tick values for a log axis: powers of ten, or 1-2-5 within them."""
    ys = _primary_y(fig)
    if not ys.size:
        return []
    lo, hi = math.floor(math.log10(ys.min())), math.ceil(math.log10(ys.max()))
    steps = (1,) if hi - lo > 2 else (1, 2, 5) if hi - lo > 1 else (1, 1.5, 2, 3, 5, 7)
    vals = [m * 10.0 ** k for k in range(lo, hi + 1) for m in steps]
    inside = [v for v in vals if ys.min() / 1.5 <= v <= ys.max() * 1.5]
    return [float(f"{v:.3g}") for v in inside] if len(inside) >= 2 else []


def _primary_y(fig: go.Figure) -> np.ndarray:
    """The positive, finite y values on the primary y axis."""
    ys = [np.asarray(d.y, dtype=float) for d in fig.data
          if d.y is not None and getattr(d, "yaxis", None) in (None, "y")]
    ys = np.concatenate(ys) if ys else np.array([])
    return ys[np.isfinite(ys) & (ys > 0)]


def _decades(fig: go.Figure) -> float:
    """How many powers of ten the data on the primary y axis spans."""
    ys = _primary_y(fig)
    return float(np.log10(ys.max() / ys.min())) if ys.size else 0.0


def _legend_height(fig: go.Figure, present: bool, width: int = 450) -> int:
    """Pixels a horizontal legend needs, assuming a plot only `width` px wide
    (pages put some charts in half-width columns).

    Plotly does not reserve margin for a legend placed in container
    coordinates, so estimate the number of rows (CJK glyphs are wider).
    """
    font = _style(present)["font"]
    names = [d.name for d in fig.data if d.name and d.showlegend is not False]
    if not names:
        return 0
    px = [sum(font if ord(c) > 0x2E80 else 0.6 * font for c in n) + 50 for n in names]
    rows, used = 1, 0.0
    for w in px:
        if used and used + w > width:
            rows, used = rows + 1, 0.0
        used += w
    return int(rows * font * 1.7) + 8


def _hline(fig: go.Figure, y: float, text: str, *, present: bool, log_y: bool,
           colour=BLACK) -> None:
    """Dashed horizontal reference line across the plot, labelled at the right.

    Shapes take data values, but annotations on a log axis take log10(y).
    """
    st = _style(present)
    fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y,
                  line=dict(color=colour, width=st["line"], dash="dash"),
                  layer="above")
    fig.add_annotation(xref="paper", x=1, xanchor="right", yref="y",
                       y=math.log10(y) if log_y else y, yanchor="bottom",
                       text=text, showarrow=False,
                       font=dict(size=st["font"], color=colour),
                       bgcolor="rgba(255,255,255,0.75)")


def _char_axis(fig: go.Figure, chars, present: bool, **where) -> None:
    """Label a time axis with its characters (every k-th if there are many).

    Labels stay horizontal; beyond ~60 (40 when presenting) they would
    overlap, so only every k-th is shown and the hover gives the rest.
    """
    n = len(chars)
    every = max(1, math.ceil(n / (40 if present else 60)))
    vals = np.arange(0, n, every)
    fig.update_xaxes(tickmode="array", tickvals=vals,
                     ticktext=[_show_char(chars[i]) for i in vals],
                     tickangle=0, showgrid=False, **where)


def _heat_range(H: np.ndarray) -> float:
    """Symmetric colour range: -1..1 for tanh, the data range if it is wider."""
    finite = H[np.isfinite(H)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    return max(1.0, m)


def _colourbar(title: str, present: bool, **extra) -> dict:
    st = _style(present)
    return dict(title=dict(text=title, side="right"), thickness=24 if present else 14,
                tickfont=dict(size=st["font"]), outlinewidth=0, **extra)


# ---------------------------------------------------------------- 1. loss
def loss_figure(steps, loss, *, smooth: float | None = None, lang: str = "en",
                present: bool = False, uirevision: str | None = None) -> go.Figure:
    """Training loss per step: raw as a thin line, plus an EWM line if `smooth`."""
    st = _style(present)
    steps = np.asarray(steps)
    loss = np.asarray(loss, dtype=float)
    hover = _hover_xy(t("fig.hover.step", lang), t("fig.loss.y", lang))
    fig = go.Figure()
    fig.add_trace(_line(steps, loss, t("fig.loss.raw", lang), BLUE,
                        st["thin"] if smooth else st["line"], hover=hover,
                        opacity=0.45 if smooth else None))
    if smooth:
        fig.add_trace(_line(steps, _ewm(loss, smooth),
                            t("fig.loss.smooth", lang, alpha=smooth),
                            VERMILLION, st["line"], hover=hover))
    return _layout(fig, title=t("fig.loss.title", lang), lang=lang, present=present,
                   uirevision=uirevision, x_title=t("fig.axis.step", lang),
                   y_title=t("fig.loss.y", lang))


# ---------------------------------------------------------------- 2. perplexity
def perplexity_figure(epochs, perplexity, *, lang: str = "en", present: bool = False,
                      uirevision: str | None = None) -> go.Figure:
    """Perplexity per epoch (as d2l plots it); log y if it spans more than 10x."""
    st = _style(present)
    x, y = _positive(epochs, perplexity)  # inf (diverged) and nan are dropped
    log_y = y.size > 0 and y.max() / y.min() > 10
    xs, ys = downsample(x, y)
    fig = go.Figure(go.Scatter(
        x=xs, y=ys, mode="lines+markers" if len(xs) <= 200 else "lines",
        name=t("fig.ppl.line", lang), line=dict(color=BLUE, width=st["line"]),
        marker=dict(size=st["marker"]),
        hovertemplate=_hover_xy(t("fig.hover.epoch", lang), t("fig.ppl.y", lang)),
    ))
    return _layout(fig, title=t("fig.ppl.title", lang), lang=lang, present=present,
                   uirevision=uirevision, x_title=t("fig.axis.epoch", lang),
                   y_title=t("fig.ppl.y", lang), log_y=log_y, legend=False)


# ---------------------------------------------------------------- 3. grad norm
def clip_rates(clipped, window: int = CLIP_WINDOW) -> tuple[float, float]:
    """(fraction clipped in the last `window` steps, fraction clipped overall)."""
    c = np.asarray(clipped, dtype=bool)
    if c.size == 0:
        return 0.0, 0.0
    return float(c[-window:].mean()), float(c.mean())


def grad_norm_figure(steps, norm_before, norm_after, clipped, theta, *,
                     smooth: float | None = None, lang: str = "en",
                     present: bool = False, uirevision: str | None = None) -> go.Figure:
    """Gradient L2 norm per step before and after clipping, on a log y axis.

    Marks the clipped steps on the before-curve, draws theta as a dashed
    line (none when theta is None or 0: clipping off), and shows the clip
    rate (last CLIP_WINDOW steps and overall) in the subtitle and as a
    0..1 curve on a secondary axis. With `smooth`, the raw curve stays
    visible and a rolling max envelope keeps the spikes in view.
    """
    st = _style(present)
    steps = np.asarray(steps)
    before = np.asarray(norm_before, dtype=float)
    after = None if norm_after is None else np.asarray(norm_after, dtype=float)
    clipped = (np.zeros(len(steps), bool) if clipped is None
               else np.asarray(clipped, dtype=bool))
    clipping_on = theta is not None and theta > 0
    step_word = t("fig.hover.step", lang)
    hover = _hover_xy(step_word, t("fig.grad.hover", lang))

    fig = go.Figure()
    name_before = t("fig.grad.before", lang)
    x, y = _positive(steps, before)
    if smooth:
        window = _window_for(smooth)
        fig.add_trace(_line(x, y, name_before, VERMILLION, st["thin"], opacity=0.35,
                            hover=hover))
        env = pd.Series(before).rolling(window, min_periods=1).max().to_numpy()
        fig.add_trace(_line(*_positive(steps, env),
                            t("fig.grad.envelope", lang, window=window),
                            VERMILLION, st["thin"], dash="dot", hover=hover))
        fig.add_trace(_line(*_positive(steps, _ewm(before, smooth)),
                            t("fig.grad.before_smooth", lang, alpha=smooth),
                            VERMILLION, st["line"], hover=hover))
    else:
        fig.add_trace(_line(x, y, name_before, VERMILLION, st["line"], hover=hover))
    if after is not None and not np.array_equal(after, before, equal_nan=True):
        # raw even when smoothing: it is bounded by theta, and stays honest.
        # (With clipping off both curves are the same; draw it once.)
        fig.add_trace(_line(*_positive(steps, after), t("fig.grad.after", lang), BLUE,
                            st["line"], hover=hover))
    if clipped.any():
        # markers sit exactly at clipped steps (thinned only if there are very many)
        cx, cy = downsample(*_positive(steps[clipped], before[clipped]))
        fig.add_trace(go.Scatter(
            x=cx, y=cy, mode="markers", name=t("fig.grad.clipped", lang),
            marker=dict(symbol="circle", size=st["marker"], color=BLACK, opacity=0.75),
            hovertemplate=hover,
        ))
    if clipping_on and len(steps):
        # theta as a dashed line with a legend entry: a label on the plot
        # would sit on the curve's end, where the reader looks
        fig.add_trace(go.Scatter(
            x=np.array([steps[0], steps[-1]]), y=np.array([float(theta)] * 2), mode="lines",
            name=t("fig.grad.theta", lang, theta=theta), hoverinfo="skip",
            line=dict(color=BLACK, width=st["line"], dash="dash")))
    elif clipping_on:
        _hline(fig, float(theta), t("fig.grad.theta", lang, theta=theta),
               present=present, log_y=True)
    if clipping_on:
        recent, overall = clip_rates(clipped)
        subtitle = t("fig.grad.subtitle", lang, recent=recent, overall=overall,
                     window=min(CLIP_WINDOW, len(clipped)), total=len(clipped))
        rate = pd.Series(clipped.astype(float)).rolling(CLIP_WINDOW, min_periods=1).mean()
        fig.add_trace(_line(steps, rate.to_numpy(),
                            t("fig.grad.rate", lang, window=CLIP_WINDOW), GREEN,
                            st["thin"], yaxis="y2",
                            hover=_hover_xy(step_word, t("fig.grad.rate_y", lang), ".0%")))
    else:
        subtitle = t("fig.grad.off", lang)
    _layout(fig, title=t("fig.grad.title", lang), lang=lang, present=present,
            uirevision=uirevision, x_title=t("fig.axis.step", lang),
            y_title=t("fig.grad.y", lang), log_y=True, subtitle=subtitle,
            height=(460 if not present else 600))
    if clipping_on:  # after _layout, which would restyle this axis like the others
        fig.update_layout(yaxis2=dict(
            overlaying="y", side="right", range=[0, 1], showgrid=False,
            tickmode="linear", tick0=0, dtick=0.25, zeroline=False,
            showline=True, linecolor=GREEN, ticks="outside", tickcolor=GREEN,
            tickformat=".0%", title=dict(text=t("fig.grad.rate_y", lang),
                                         font=dict(color=GREEN)),
            tickfont=dict(size=st["font"], color=GREEN)))
    return fig


# ---------------------------------------------------------------- 4. hidden state
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
    m = _heat_range(H)
    fig = go.Figure(_hidden_heatmap(
        H, chars, targets=None if targets is None else list(targets), lang=lang,
        colorscale=DIVERGING, zmin=-m, zmax=m, zmid=0,
        colorbar=_colourbar(t("fig.hidden.colour", lang), present)))
    parts = [t("fig.hidden.title", lang)]
    if lane is not None:
        parts.append(t("fig.hidden.lane", lang, lane=lane))
    if step is not None:
        parts.append(t("fig.hidden.step", lang, step=step))
    _char_axis(fig, chars, present)
    fig.update_yaxes(showgrid=False)
    return _layout(fig, title=" · ".join(parts), lang=lang, present=present,
                   uirevision=uirevision, x_title=t("fig.axis.time_step", lang),
                   y_title=t("fig.axis.hidden_unit", lang), legend=False)


# ---------------------------------------------------------------- 5. lanes
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
        _char_axis(fig, chars, present, row=i, col=1)
        fig.update_xaxes(showticklabels=True, row=i, col=1)
        fig.update_yaxes(title_text=t("fig.axis.hidden_unit", lang), showgrid=False,
                         row=i, col=1)
    m = _heat_range(H)
    fig.update_layout(coloraxis=dict(
        colorscale=DIVERGING, cmin=-m, cmax=m, cmid=0,
        colorbar=_colourbar(t("fig.hidden.colour", lang), present)))
    fig.update_xaxes(title_text=t("fig.axis.time_step", lang), row=n, col=1)
    st = _style(present)
    per_lane = 190 if not present else 250
    _layout(fig, title=t("fig.lanes.title", lang), lang=lang, present=present,
            uirevision=uirevision, legend=False, height=120 + per_lane * n)
    # subplot titles are annotations; give them the base font size too
    fig.update_annotations(font_size=st["font"])
    return fig


# ---------------------------------------------------------------- 6. carried state
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
    m = _heat_range(H)
    batch = np.repeat(np.arange(1, len(lengths) + 1), lengths)  # for the hover
    fig = go.Figure(_hidden_heatmap(
        H, chars, batch=batch, lang=lang, colorscale=DIVERGING, zmin=-m, zmax=m,
        zmid=0, colorbar=_colourbar(t("fig.hidden.colour", lang), present)))
    st = _style(present)
    for b in np.cumsum(lengths)[:-1]:
        fig.add_vline(x=b - 0.5, line=dict(color=BLACK, width=st["line"], dash="dash"))
        fig.add_annotation(x=b - 0.5, xref="x", y=1.0, yref="paper", yanchor="bottom",
                           text=t("fig.carried.boundary", lang), showarrow=False,
                           font=dict(size=max(11, st["font"] - 3)),
                           bgcolor="rgba(255,255,255,0.85)")
    _char_axis(fig, chars, present)
    fig.update_yaxes(showgrid=False)
    _layout(fig, title=t("fig.carried.title", lang, lane=lane), lang=lang,
            present=present, uirevision=uirevision,
            x_title=t("fig.axis.time_step", lang),
            y_title=t("fig.axis.hidden_unit", lang), legend=False,
            height=440 if not present else 580)
    fig.update_layout(margin_t=110 if not present else 150)  # room for boundary labels
    return fig


# ---------------------------------------------------------------- 7. dL/dH
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
        colorbar=_colourbar(t("fig.dh.colour", lang), present, tickmode="array",
                            tickvals=decades, ticktext=[f"1e{d}" for d in decades]),
        hovertemplate=(f"{t('fig.hover.step', lang)} %{{customdata}}<br>"
                       f"{t('fig.hover.t', lang)} %{{x}}<br>"
                       f"{t('fig.dh.norm', lang)} %{{text}}<extra></extra>"),
    ))
    every = max(1, math.ceil(len(rows) / 12))  # at most ~12 step labels
    fig.update_yaxes(tickmode="array", tickvals=rows[::every],
                     ticktext=[str(s) for s in steps[::every]], showgrid=False)
    fig.update_xaxes(showgrid=False)
    return _layout(fig, title=t("fig.dh.title", lang), lang=lang, present=present,
                   uirevision=uirevision, x_title=t("fig.axis.time_step", lang),
                   y_title=t("fig.axis.step", lang), subtitle=t("fig.dh.subtitle", lang),
                   legend=False)


# ---------------------------------------------------------------- 8. parameter norms
def param_norms_figure(steps, norms: dict, *, lang: str = "en", present: bool = False,
                       uirevision: str | None = None) -> go.Figure:
    """One line per parameter (names as the model calls them), log y."""
    st = _style(present)
    fig = go.Figure()
    hover = _hover_xy(t("fig.hover.step", lang), t("fig.params.hover", lang))
    for i, (name, values) in enumerate(norms.items()):
        fig.add_trace(_line(*_positive(steps, values), name,
                            PALETTE[i % len(PALETTE)], st["line"], hover=hover,
                            dash=None if i < len(PALETTE) else "dash"))
    return _layout(fig, title=t("fig.params.title", lang), lang=lang, present=present,
                   uirevision=uirevision, x_title=t("fig.axis.step", lang),
                   y_title=t("fig.params.y", lang), log_y=True)


# ---------------------------------------------------------------- 9. spectral
def spectral_figure(steps, radius, sigma_max, *, lang: str = "en", present: bool = False,
                    uirevision: str | None = None) -> go.Figure:
    """Spectral radius and largest singular value of W_hh, with a line at 1."""
    st = _style(present)
    hover = _hover_xy(t("fig.hover.step", lang), t("fig.spectral.y", lang))
    fig = go.Figure()
    fig.add_trace(_line(steps, radius, t("fig.spectral.radius", lang), BLUE,
                        st["line"], hover=hover))
    fig.add_trace(_line(steps, sigma_max, t("fig.spectral.sigma", lang), VERMILLION,
                        st["line"], dash="dot", hover=hover))
    _hline(fig, 1.0, t("fig.spectral.one", lang), present=present, log_y=False)
    return _layout(fig, title=t("fig.spectral.title", lang), lang=lang, present=present,
                   uirevision=uirevision, x_title=t("fig.axis.step", lang),
                   y_title=t("fig.spectral.y", lang))


# ---------------------------------------------------------------- 10. top-k
def topk_figure(chars, probs, *, generated=None, lang: str = "en", present: bool = False,
                uirevision: str | None = None) -> go.Figure:
    """Top-k next-character candidates at each generation step.

    x = generation step (ticks: the chosen character), y = rank (1 on top),
    colour = probability, each cell shows its candidate character. The
    chosen candidate is outlined when `generated` is given.
    """
    st = _style(present)
    chars = np.asarray(chars, dtype=object)
    probs = np.asarray(probs, dtype=float)
    if chars.shape != probs.shape or chars.ndim != 2:
        raise ValueError("chars and probs must both be (num_preds, k)")
    n, k = probs.shape
    shown = np.vectorize(_show_char, otypes=[object])(chars) if chars.size else chars
    fig = go.Figure(go.Heatmap(
        z=probs.T, x=np.arange(n), y=np.arange(1, k + 1), text=shown.T,
        texttemplate="%{text}", textfont=dict(size=st["font"]),
        colorscale="Blues", zmin=0, zmax=1,
        colorbar=_colourbar(t("fig.topk.prob", lang), present),
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
        _char_axis(fig, generated, present)
    # fixed ranges: the markers must not add autorange padding around the cells
    fig.update_xaxes(showgrid=False, range=[-0.5, n - 0.5])
    fig.update_yaxes(range=[k + 0.5, 0.5], showgrid=False, dtick=1)
    return _layout(fig, title=t("fig.topk.title", lang, k=k), lang=lang, present=present,
                   uirevision=uirevision, x_title=t("fig.axis.gen_step", lang),
                   y_title=t("fig.axis.rank", lang), legend=generated is not None,
                   height=max(st["height"] - 40, 140 + 34 * k * (1.5 if present else 1)))


# ---------------------------------------------------------------- 11. activations
def _activation_colour(v: float) -> tuple[str, str]:
    """(background, text colour) for v in -1..1: blue < 0, white 0, red > 0."""
    if not np.isfinite(v):
        return "transparent", "inherit"
    v = max(-1.0, min(1.0, float(v)))
    end = (178, 24, 43) if v > 0 else (33, 102, 172)
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


# ---------------------------------------------------------------- 12. compare
def metrics_compare_figure(series: dict, *, y_title_key: str, log_y: bool = False,
                           x_title_key: str = "fig.axis.step", lang: str = "en",
                           present: bool = False,
                           uirevision: str | None = None) -> go.Figure:
    """One line per run (label -> (x, y)) to overlay a metric of several runs."""
    st = _style(present)
    y_word = t(y_title_key, lang)
    hover = _hover_xy(t(x_title_key, lang), y_word)
    fig = go.Figure()
    for i, (label, (x, y)) in enumerate(series.items()):
        x = np.asarray(x)
        y = np.asarray(y, dtype=float)
        if log_y:
            x, y = _positive(x, y)
        fig.add_trace(_line(x, y, str(label), PALETTE[i % len(PALETTE)], st["line"],
                            hover=hover,
                            dash=None if i < len(PALETTE) else "dash"))
    return _layout(fig, title=t("fig.compare.title", lang, what=y_word), lang=lang,
                   present=present, uirevision=uirevision,
                   x_title=t(x_title_key, lang), y_title=y_word, log_y=log_y)
