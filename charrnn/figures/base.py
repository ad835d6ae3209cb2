"""What every chart shares: sizes for screen or projector, layout, thinning, axes."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from charrnn.style import BLACK, FONTS_CJK, FONTS_LATIN, visible_char

_STYLE = {
    False: dict(font=14, title=18, line=1.8, thin=1.0, marker=4, height=400,
                grid="#e6e6e6", axis="#555555", text="#222222"),
    True: dict(font=22, title=28, line=3.0, thin=1.6, marker=7, height=540,
               grid="#b0b0b0", axis="#000000", text="#000000"),
}

MAX_POINTS = 2000
CLIP_WINDOW = 100


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


def positive(x, y):
    """Keep only points a log axis can show (finite and > 0)."""
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y) & (y > 0)
    return x[ok], y[ok]


def ewm(y, alpha: float) -> np.ndarray:
    if not 0 < alpha < 1:
        raise ValueError(f"smooth must be in (0, 1), got {alpha}")
    return pd.Series(np.asarray(y, dtype=float)).ewm(alpha=alpha).mean().to_numpy()


def window_for(alpha: float) -> int:
    """Trailing window with the same span as an EWM of this alpha."""
    return max(2, int(round(2 / alpha - 1)))


def line(x, y, name, colour, width, *, dash=None, opacity=None, yaxis=None,
         hover=None, visible=None, max_points=MAX_POINTS):
    xs, ys = downsample(x, y, max_points)
    return go.Scatter(
        x=xs, y=ys, mode="lines", name=name, opacity=opacity, yaxis=yaxis,
        line=dict(color=colour, width=width, dash=dash), visible=visible,
        hovertemplate=hover,
    )


def hover_xy(x_word: str, y_word: str, y_fmt: str = ".4g") -> str:
    return f"{x_word} %{{x}}<br>{y_word} %{{y:{y_fmt}}}<extra>%{{fullData.name}}</extra>"


def sizes(present: bool) -> dict:
    return _STYLE[bool(present)]


def layout(fig: go.Figure, *, title: str, lang: str, present: bool,
           uirevision, x_title=None, y_title=None, log_y=False,
           subtitle=None, height=None, legend=True, legend_width: int = 450) -> go.Figure:
    """The look every chart shares: template, fonts, margins, grid, legend.
    `legend_width`: how wide the plot will be drawn (its legend's rows)."""
    st = sizes(present)
    legend_h = _legend_height(fig, present, legend_width) if legend else 0
    one_row = int(_legend_font(present) * 1.7) + 8
    white_template(fig)
    fig.update_layout(
        # a legend of several rows adds height instead of squeezing the plot
        height=(height or st["height"]) + max(0, legend_h - one_row),
        font=dict(family=FONTS_CJK if lang == "zh" else FONTS_LATIN,
                  size=st["font"], color=st["text"]),
        title=dict(text=title, x=0.01, xanchor="left", yref="container",
                   y=0.98, yanchor="top", font=dict(size=st["title"], weight=600),
                   subtitle=dict(text=subtitle or "",
                                 font=dict(size=st["font"], color=st["text"]))),
        margin=dict(l=70 if not present else 100, r=30,
                    b=(60 if not present else 90) + legend_h,
                    t=(100 if subtitle else 70) + (10 if present else 0)),
        showlegend=legend,
        # below the plot, so it never collides with the title and subtitle
        legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0.005,
                    yanchor="bottom", font=dict(size=_legend_font(present))),
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


def white_template(fig: go.Figure):
    """plotly_white on `fig`, as plotly itself puts its default template on a
    new figure: unvalidated, so the template is not deep-copied as an object
    first. `template="plotly_white"` cost 7.6 ms of a chart's 25-35 ms build,
    and a live chart is rebuilt about every second. Same JSON either way
    (tests/test_figures.py)."""
    layout = fig._layout_obj
    layout._validate = False
    try:
        layout.template = pio.templates["plotly_white"]
    finally:
        layout._validate = fig._validate


MAX_DECADE_TICKS = 6


def _log_ticks(fig: go.Figure) -> list[float]:
    """Tick values for a log axis: powers of ten, or 1-2-5 within them."""
    ys = _primary_y(fig)
    if not ys.size:
        return []
    lo, hi = math.floor(math.log10(ys.min())), math.ceil(math.log10(ys.max()))
    steps = (1,) if hi - lo > 2 else (1, 2, 5) if hi - lo > 1 else (1, 1.5, 2, 3, 5, 7)
    # a diverged run spans dozens of decades: label every few, not each on top of the next
    stride = max(1, math.ceil((hi - lo) / MAX_DECADE_TICKS))
    vals = [m * 10.0 ** k for k in range(lo, hi + 1, stride) for m in steps]
    inside = [v for v in vals if ys.min() / 1.5 <= v <= ys.max() * 1.5]
    return [float(f"{v:.3g}") for v in inside] if len(inside) >= 2 else []


def _primary_y(fig: go.Figure) -> np.ndarray:
    """The positive, finite y values on the primary y axis."""
    ys = [np.asarray(d.y, dtype=float) for d in fig.data
          if d.y is not None and getattr(d, "yaxis", None) in (None, "y")]
    ys = np.concatenate(ys) if ys else np.array([])
    return ys[np.isfinite(ys) & (ys > 0)]


def _legend_font(present: bool) -> int:
    """A projector's legend a little smaller than its axes: its rows take the
    height the plot needs on a 720p screen."""
    return round(sizes(present)["font"] * (0.82 if present else 1))


def _legend_height(fig: go.Figure, present: bool, width: int = 450) -> int:
    """Pixels a horizontal legend needs, assuming a plot only `width` px wide
    (pages put some charts in half-width columns).

    Plotly does not reserve margin for a legend placed in container
    coordinates, so estimate the number of rows (CJK glyphs are wider).
    """
    font = _legend_font(present)
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


def hline(fig: go.Figure, y: float, text: str, *, present: bool, log_y: bool,
          colour=BLACK) -> None:
    """Dashed horizontal reference line across the plot, labelled at the right.

    Shapes take data values, but annotations on a log axis take log10(y).
    """
    st = sizes(present)
    fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y,
                  line=dict(color=colour, width=st["line"], dash="dash"),
                  layer="above")
    fig.add_annotation(xref="paper", x=1, xanchor="right", yref="y",
                       y=math.log10(y) if log_y else y, yanchor="bottom",
                       text=text, showarrow=False,
                       font=dict(size=st["font"], color=colour),
                       bgcolor="rgba(255,255,255,0.75)")


def char_axis(fig: go.Figure, chars, present: bool, **where) -> None:
    """Label a time axis with its characters (every k-th if there are many).

    Labels stay horizontal; beyond ~60 (40 when presenting) they would
    overlap, so only every k-th is shown and the hover gives the rest.
    """
    n = len(chars)
    every = max(1, math.ceil(n / (40 if present else 60)))
    vals = np.arange(0, n, every)
    fig.update_xaxes(tickmode="array", tickvals=vals,
                     ticktext=[visible_char(chars[i]) for i in vals],
                     tickangle=0, showgrid=False, **where)


def heat_range(H: np.ndarray) -> float:
    """Symmetric colour range: -1..1 for tanh, the data range if it is wider."""
    finite = H[np.isfinite(H)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    return max(1.0, m)


def colourbar(title: str, present: bool, **extra) -> dict:
    st = sizes(present)
    return dict(title=dict(text=title, side="right"), thickness=24 if present else 14,
                tickfont=dict(size=st["font"]), outlinewidth=0, **extra)
