"""The unrolled-RNN diagram of /work/shared/DIAGRAM.md, as pure functions.

Config in, ``plotly.graph_objects.Figure`` out; no streamlit, no torch.

Public builders
- ``small_example`` / ``partition_tokens`` / ``example_spec``: d2l's printout
  (batch_size=2, num_steps=5 on the sequence 0..34) and d2l-style partitions.
- ``shape_rows`` / ``param_count`` / ``shape_strip_figure``: the shapes strip.
- ``grid_figure``: lanes x time steps x minibatches, shared parameters,
  H_0, minibatch boundaries (detach / restart from zeros).
- ``phases`` / ``animated_figure``: one training iteration, phase by phase.
- ``clip_figure``: gradient clipping as a projection onto a sphere.
- ``prediction_strip_figure``: warm-up over the prefix, then greedy feedback.

Every shape and annotation carries a ``name`` that says what it is, so tests
(and readers of the JSON) can check content, e.g.
``arrow:fwd:lane0:b0t3->lane0:b0t4``, ``arrow:grad:lane1:b2t5->lane1:b2t4``,
``arrow:param:lane0:b1t2``, ``h0:lane1:b0``, ``boundary:1``, ``detach:1``,
``cell:lane0:b0t1``, ``lane:0``.  Arrows always name both ends, lane included.
"""
from __future__ import annotations

import html
import math
import random
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from charrnn.i18n import t as _tr

__all__ = [
    "DiagramSpec", "small_example", "partition_tokens", "example_spec",
    "shape_rows", "param_count", "shape_strip_figure", "grid_figure",
    "phases", "animated_figure", "clip_figure", "prediction_strip_figure",
    "SKETCH_FONT", "CLEAN_FONT", "PHASE_KINDS",
]

SKETCH_SEED = 85  # d2l 8.5: the fixed seed of the hand-drawn jitter
SKETCH_FONT = ('"Comic Neue", "Comic Sans MS", "Segoe Print", "Chalkboard SE", '
               '"xkcd Script", "Noto Sans CJK SC", "PingFang SC", '
               '"Microsoft YaHei", cursive, sans-serif')
CLEAN_FONT = ('"Inter", "Helvetica Neue", Arial, "Noto Sans CJK SC", '
              '"PingFang SC", "Microsoft YaHei", sans-serif')
PHASE_KINDS = ("forward", "loss", "backward", "clip", "update", "next")

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(n) -> str:
    return str(n).translate(_SUB)


# ---------------------------------------------------------------------------
# the spec
# ---------------------------------------------------------------------------
@dataclass
class DiagramSpec:
    """Everything the grid, the animation and the clipping picture draw.

    tokens / labels / chars / label_chars: optional arrays shaped
    (num_batches, batch_size, num_steps): the inputs X of each minibatch, the
    labels Y, and their characters.  Labels default to the next token in the
    lane (sequential partitioning continues into the next minibatch).
    hidden: optional per-cell values for hover, shaped (lanes, num_steps) (a
    summary such as mean |H|) or (lanes, num_steps, k) (the first k units),
    optionally with a leading num_batches axis; without it they belong to
    ``active_batch``.  hidden_lanes: which batch rows its lanes are (default
    0, 1, ...).
    """
    batch_size: int = 2
    num_steps: int = 5
    num_batches: int = 3
    vocab_size: int = 28
    num_hiddens: int = 512
    random_iter: bool = False
    tokens: Any = None
    labels: Any = None
    chars: Any = None
    label_chars: Any = None
    show_chars: bool = False
    theta: float | None = 1.0
    grad_norm_before: float | None = None
    grad_norm_after: float | None = None
    hidden: Any = None
    hidden_lanes: Sequence[int] | None = None
    active_batch: int = 0          # the minibatch the animation trains on
    sketch: bool = False
    lang: str = "en"
    present: bool = False
    max_lanes: int = 4             # more lanes than this: first 2, "more", last
    max_steps: int = 6             # more steps than this: first 3, "...", last

    def __post_init__(self):
        for name in ("batch_size", "num_steps", "num_batches", "vocab_size",
                     "num_hiddens"):
            value = int(getattr(self, name))
            if value < 1:
                raise ValueError(f"{name} must be at least 1, not {value}")
            setattr(self, name, value)
        shape = (self.num_batches, self.batch_size, self.num_steps)
        for name in ("tokens", "labels", "chars", "label_chars"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=object if "chars" in name else None)
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape} "
                                 f"(num_batches, batch_size, num_steps), not {arr.shape}")
            setattr(self, name, arr)
        if self.theta is not None and not self.theta > 0:
            self.theta = None
        self.active_batch = min(max(int(self.active_batch), 0), self.num_batches - 1)
        if self.hidden is not None:
            self.hidden = np.asarray(self.hidden, dtype=float)
        self.random_iter = bool(self.random_iter)


# ---------------------------------------------------------------------------
# d2l's partitions and the small example
# ---------------------------------------------------------------------------
def partition_tokens(corpus, batch_size, num_steps, *, random_iter=False,
                     offset=None, seed=0, num_batches=None):
    """d2l's seq_data_iter_sequential / _random as arrays (X, Y).

    Both are shaped (num_batches, batch_size, num_steps).  `offset` fixes
    d2l's random start offset (default: drawn with `seed`, as d2l does).
    """
    corpus = list(corpus)
    rng = random.Random(seed)
    if random_iter:
        off = rng.randint(0, num_steps - 1) if offset is None else int(offset)
        c = corpus[off:]
        num_subseqs = (len(c) - 1) // num_steps
        starts = list(range(0, num_subseqs * num_steps, num_steps))
        rng.shuffle(starts)
        nb = num_subseqs // batch_size
        xs, ys = [], []
        for i in range(0, batch_size * nb, batch_size):
            chunk = starts[i:i + batch_size]
            xs.append([c[j:j + num_steps] for j in chunk])
            ys.append([c[j + 1:j + 1 + num_steps] for j in chunk])
    else:
        off = rng.randint(0, num_steps) if offset is None else int(offset)
        num_tokens = ((len(corpus) - off - 1) // batch_size) * batch_size
        Xs = np.array(corpus[off:off + num_tokens]).reshape(batch_size, -1)
        Ys = np.array(corpus[off + 1:off + 1 + num_tokens]).reshape(batch_size, -1)
        nb = Xs.shape[1] // num_steps
        xs = [Xs[:, i:i + num_steps] for i in range(0, num_steps * nb, num_steps)]
        ys = [Ys[:, i:i + num_steps] for i in range(0, num_steps * nb, num_steps)]
    X, Y = np.array(xs), np.array(ys)
    if num_batches is not None:
        X, Y = X[:num_batches], Y[:num_batches]
    return X, Y


def small_example(random_iter=False, seed=0):
    """Token ids (3, 2, 5): d2l's printout for batch_size=2, num_steps=5 on 0..34.

    Sequential uses d2l's offset 2 of that printout (X: [[2..6],[18..22]],
    [[7..11],[23..27]], [[12..16],[28..32]]; Y = X + 1); random draws a
    d2l-style random partition with `seed`.
    """
    X, _ = partition_tokens(range(35), 2, 5, random_iter=random_iter,
                            offset=None if random_iter else 2, seed=seed,
                            num_batches=3)
    return X


def example_spec(random_iter=False, seed=0, **overrides) -> DiagramSpec:
    """The default view: d2l's printout as a DiagramSpec (labels Y = X + 1)."""
    X, Y = partition_tokens(range(35), 2, 5, random_iter=random_iter,
                            offset=None if random_iter else 2, seed=seed,
                            num_batches=3)
    kw = dict(batch_size=2, num_steps=5, num_batches=3, vocab_size=35,
              random_iter=random_iter, tokens=X, labels=Y)
    kw.update(overrides)
    return DiagramSpec(**kw)


# ---------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------
def param_count(vocab_size, num_hiddens) -> int:
    """W_xh + W_hh + b_h + W_hq + b_q = V*H + H*H + H + H*V + V."""
    V, H = int(vocab_size), int(num_hiddens)
    return V * H + H * H + H + H * V + V


def _shape(*dims) -> str:
    if len(dims) == 1:
        return f"({dims[0]},)"
    return "(" + ", ".join(str(d) for d in dims) + ")"


def _shape_items(V, H, B, T):
    """(code label, shape, note key, group) for the strip."""
    return [
        ("X", _shape(B, T), None, "in"),
        ("X.T", _shape(T, B), None, "in"),
        ("one_hot(X.T, V)", _shape(T, B, V), "diag.shapes.note.onehot", "in"),
        ("X_t", _shape(B, V), None, "in"),
        ("W_xh", _shape(V, H), None, "param"),
        ("H_{t-1}", _shape(B, H), None, "state"),
        ("W_hh", _shape(H, H), None, "param"),
        ("b_h", _shape(H), None, "param"),
        ("H_t = tanh(X_t @ W_xh + H_{t-1} @ W_hh + b_h)", _shape(B, H),
         "diag.shapes.note.h", "state"),
        ("W_hq", _shape(H, V), None, "param"),
        ("b_q", _shape(V), None, "param"),
        ("Y_t = H_t @ W_hq + b_q", _shape(B, V), "diag.shapes.note.yt", "out"),
        ("cat(outputs, dim=0)", _shape(T * B, V), "diag.shapes.note.cat", "out"),
        ("labels = Y.T.reshape(-1)", _shape(T * B), None, "out"),
        ("loss = cross_entropy(...).mean()", "()", "diag.shapes.note.loss", "loss"),
        ("parameters", f"{param_count(V, H):,}", "diag.shapes.note.params", "param"),
    ]


def shape_rows(vocab_size=28, num_hiddens=512, batch_size=32, num_steps=35):
    """The shape strip as (label, shape-string) rows (d2l defaults by default)."""
    return [(label, shape) for label, shape, _, _ in
            _shape_items(int(vocab_size), int(num_hiddens), int(batch_size),
                         int(num_steps))]


# ---------------------------------------------------------------------------
# style and a small drawing canvas (clean or hand-drawn)
# ---------------------------------------------------------------------------
class _Style:
    def __init__(self, lang="en", present=False, sketch=False):
        self.lang = lang if lang in ("en", "zh") else "en"
        self.present = bool(present)
        self.sketch = bool(sketch)
        p = self.present
        self.base = 20 if p else 14
        self.small = 18 if p else 12
        self.big = 24 if p else 17
        self.title = 28 if p else 20
        self.lw = 3 if p else 2
        self.thin = 1.5 if p else 1
        self.hl = 14 if p else 10          # highlighter width
        self.family = SKETCH_FONT if sketch else CLEAN_FONT
        self.ink = "#1f2937"
        self.muted = "#6b7280"
        self.faint = "#c7cdd6"
        self.blue = "#1d4ed8"
        self.blue_fill = "#dbeafe"
        self.red = "#dc2626"
        self.red_faint = "#f3a5a5"
        self.red_fill = "#fee2e2"
        self.orange = "#d97706"
        self.param_fill = "#fef3c7"
        self.green = "#15803d"
        self.green_fill = "#dcfce7"
        self.purple = "#7c3aed"
        self.purple_fill = "#ede9fe"
        self.lane_fill = "rgba(148,163,184,0.10)"
        self.paper = "#fffdf6" if sketch else "#ffffff"

    def tr(self, key, **fmt):
        return _tr(key, self.lang, **fmt)

    def layout(self, fig, title, height, *, margin=None, equal=False,
               xr=None, yr=None):
        fig.update_layout(
            title=dict(text=title, x=0.01, xanchor="left",
                       font=dict(size=self.title, family=self.family,
                                 color=self.ink)),
            font=dict(family=self.family, size=self.base, color=self.ink),
            paper_bgcolor=self.paper, plot_bgcolor=self.paper,
            height=int(height), showlegend=False,
            margin=margin or dict(l=10, r=10, t=70 if self.present else 56, b=10),
            hoverlabel=dict(font=dict(size=self.small, family=self.family)),
            dragmode=False,
        )
        ax = dict(visible=False, showgrid=False, zeroline=False, fixedrange=True)
        fig.update_xaxes(**ax, range=xr)
        fig.update_yaxes(**ax, range=yr)
        if equal:
            fig.update_yaxes(scaleanchor="x", scaleratio=1)


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode("utf-8")) ^ SKETCH_SEED)


def _p(x, y):
    return f"{x:.4f},{y:.4f}"


class _Canvas:
    """Collects named shapes and annotations; jitters them in sketch style.

    wx, wy: the wobble amplitude in data units (about 2 px) along x and y.
    """

    def __init__(self, st: _Style, wx=0.03, wy=0.03):
        self.st, self.wx, self.wy = st, wx, wy
        self.shapes: list[dict] = []
        self.annotations: list[dict] = []

    # -- sketch helpers
    def _stroke(self, name, x0, y0, x1, y1, overshoot=0.0):
        """A wobbly SVG path from (x0, y0) to (x1, y1)."""
        r = _rng(name)
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx / self.wx, dy / self.wy) or 1.0
        ux, uy = dx / self.wx / length, dy / self.wy / length  # unit, in "px"
        ox, oy = ux * overshoot * self.wx, uy * overshoot * self.wy
        j = r.uniform(-0.8, 0.8, 4)
        a = (x0 - ox + j[0] * self.wx, y0 - oy + j[1] * self.wy)
        b = (x1 + ox + j[2] * self.wx, y1 + oy + j[3] * self.wy)
        bend = r.uniform(-1.6, 1.6)
        c = ((a[0] + b[0]) / 2 - uy * bend * self.wx,
             (a[1] + b[1]) / 2 + ux * bend * self.wy)
        return f"M {_p(*a)} Q {_p(*c)} {_p(*b)}"

    def _jit(self, name, n, amp=0.7):
        return _rng(name).uniform(-amp, amp, n)

    # -- primitives
    def rect(self, name, x0, y0, x1, y1, *, line=None, width=None, fill=None,
             dash=None, layer="below"):
        st = self.st
        width = st.lw if width is None else width
        if not st.sketch or line is None:
            self.shapes.append(dict(
                type="rect", name=name, x0=x0, y0=y0, x1=x1, y1=y1,
                xref="x", yref="y", layer=layer,
                line=dict(color=line or "rgba(0,0,0,0)",
                          width=width if line else 0, dash=dash),
                fillcolor=fill or "rgba(0,0,0,0)"))
            return
        if fill:
            self.shapes.append(dict(
                type="rect", name=name + ":fill", x0=x0, y0=y0, x1=x1, y1=y1,
                xref="x", yref="y", layer=layer, line=dict(width=0),
                fillcolor=fill))
        sides = [(x0, y0, x1, y0), (x1, y0, x1, y1), (x1, y1, x0, y1), (x0, y1, x0, y0)]
        path = " ".join(self._stroke(f"{name}:{k}", *s, overshoot=1.2)
                        for k, s in enumerate(sides))
        self.shapes.append(dict(type="path", name=name, path=path, xref="x",
                                yref="y", layer=layer,
                                line=dict(color=line, width=width, dash=dash)))

    def line(self, name, x0, y0, x1, y1, *, color, width=None, dash=None,
             layer="below"):
        st = self.st
        width = st.lw if width is None else width
        if st.sketch:
            self.shapes.append(dict(type="path", name=name,
                                    path=self._stroke(name, x0, y0, x1, y1),
                                    xref="x", yref="y", layer=layer,
                                    line=dict(color=color, width=width, dash=dash)))
        else:
            self.shapes.append(dict(type="line", name=name, x0=x0, y0=y0, x1=x1,
                                    y1=y1, xref="x", yref="y", layer=layer,
                                    line=dict(color=color, width=width, dash=dash)))

    def circle(self, name, cx, cy, r, *, color, width=None, fill=None, dash=None,
               layer="below"):
        st = self.st
        width = st.lw if width is None else width
        if not st.sketch:
            self.shapes.append(dict(type="circle", name=name, x0=cx - r, y0=cy - r,
                                    x1=cx + r, y1=cy + r, xref="x", yref="y",
                                    layer=layer, fillcolor=fill or "rgba(0,0,0,0)",
                                    line=dict(color=color, width=width, dash=dash)))
            return
        if fill:
            self.shapes.append(dict(type="circle", name=name + ":fill", x0=cx - r,
                                    y0=cy - r, x1=cx + r, y1=cy + r, xref="x",
                                    yref="y", layer=layer, fillcolor=fill,
                                    line=dict(width=0)))
        n = 72
        rng = _rng(name)
        start = rng.uniform(0, 2 * math.pi)
        amp = rng.uniform(0.6, 1.2, 3)
        phase = rng.uniform(0, 2 * math.pi, 3)
        pts = []
        for k in range(n + 6):  # a little more than a full turn, as by hand
            a = start + 2 * math.pi * k / n
            w = sum(amp[i] * math.sin((i + 2) * a + phase[i]) for i in range(3)) / 2
            w += 1.5 * k / n    # the stroke ends a little off its start
            pts.append((cx + (r + w * self.wx) * math.cos(a),
                        cy + (r + w * self.wy) * math.sin(a)))
        path = "M " + " L ".join(_p(*q) for q in pts)
        self.shapes.append(dict(type="path", name=name, path=path, xref="x",
                                yref="y", layer=layer,
                                line=dict(color=color, width=width, dash=dash)))

    def path(self, name, d, *, color, width=None, dash=None, layer="below"):
        self.shapes.append(dict(type="path", name=name, path=d, xref="x", yref="y",
                                layer=layer,
                                line=dict(color=color,
                                          width=self.st.lw if width is None else width,
                                          dash=dash)))

    def arrow(self, name, x0, y0, x1, y1, *, color, width=None, head=2,
              hovertext=None, text="", size=None, opacity=1.0):
        st = self.st
        if st.sketch:
            j = self._jit(name, 4, 0.8)
            x0, y0 = x0 + j[0] * self.wx, y0 + j[1] * self.wy
            x1, y1 = x1 + j[2] * self.wx * 0.5, y1 + j[3] * self.wy * 0.5
        ann = dict(name=name, x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y",
                   axref="x", ayref="y", showarrow=True, arrowhead=head,
                   arrowsize=1.0, arrowwidth=st.lw if width is None else width,
                   arrowcolor=color, text=text, standoff=0, startstandoff=0,
                   opacity=opacity)
        if text:
            ann["font"] = dict(size=size or st.small, color=color)
        if hovertext:
            ann["hovertext"] = hovertext
        self.annotations.append(ann)

    def text(self, name, x, y, text, *, size=None, color=None, xanchor="center",
             yanchor="middle", bold=False, bg=None, border=None, pad=2,
             hovertext=None, angle=0):
        st = self.st
        if bold:
            text = f"<b>{text}</b>"
        ann = dict(name=name, x=x, y=y, xref="x", yref="y", text=text,
                   showarrow=False, xanchor=xanchor, yanchor=yanchor,
                   font=dict(size=size or st.base, color=color or st.ink))
        if angle:
            ann["textangle"] = angle
        if bg:
            ann["bgcolor"] = bg
        if border:
            ann["bordercolor"] = border
            ann["borderwidth"] = st.thin
            ann["borderpad"] = pad
        if hovertext:
            ann["hovertext"] = hovertext
        self.annotations.append(ann)

    def apply(self, fig):
        fig.update_layout(shapes=self.shapes, annotations=self.annotations)
        return fig


def _num(x) -> str:
    """A number for a label: 4 significant digits, scientific when large/small."""
    if x is None:
        return "–"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return f"{x:.2e}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _text_px(text, size, bold=False) -> float:
    """Rough rendered width of a label in px (CJK characters count double)."""
    text = re.sub(r"<[^>]+>", "", str(text))
    w = 0.0
    for ch in text:
        w += 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.58
    return w * size * (1.06 if bold else 1.0)


def _char(c) -> str:
    """A character as shown in a cell: visible space/newline, HTML-escaped."""
    if c is None:
        return "?"
    c = str(c)
    c = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍", "": "∅"}.get(c, c)
    return html.escape(c, quote=False)


# ---------------------------------------------------------------------------
# the grid: geometry
# ---------------------------------------------------------------------------
_IN, _H, _O, _LBL = 0.0, 1.05, 2.05, 2.85     # lane-local rows (bottom to top)
_LANE_LO, _LANE_HI = -0.42, 3.2               # lane band, lane-local
_HW, _HH = 0.28, 0.28                         # cell half width / height
_OW, _OH = 0.22, 0.19                         # output half width / height
_GAP = 1.6                                    # last col -> next first col
_FWD_DY, _GRAD_DY = 0.08, -0.12               # arrow heights around H


@dataclass
class _Col:
    j: int            # column index inside a minibatch
    first: int        # first time step (1-based) it stands for
    last: int         # last time step it stands for
    ell: bool         # the "..." column of summarised steps


class _Geom:
    def __init__(self, spec: DiagramSpec):
        B, T, NB = spec.batch_size, spec.num_steps, spec.num_batches
        self.spec = spec
        if B > max(spec.max_lanes, 3):
            self.lanes = [0, 1, None, B - 1]
        else:
            self.lanes = list(range(B))
        self.hidden_lanes = B - sum(1 for i in self.lanes if i is not None)
        if T > max(spec.max_steps, 5):
            self.cols = [_Col(0, 1, 1, False), _Col(1, 2, 2, False),
                         _Col(2, 3, 3, False), _Col(3, 4, T - 1, True),
                         _Col(4, T, T, False)]
        else:
            self.cols = [_Col(j, j + 1, j + 1, False) for j in range(T)]
        self.ncols = len(self.cols)
        self.pitch_b = self.ncols - 1 + _GAP
        # lane base y, top to bottom
        self.base: dict[int, float] = {}
        self.more_y = None
        y = 0.0
        prev_bottom = None
        for lane in self.lanes:
            if lane is None:
                top = prev_bottom - 0.35
                self.more_y = top - 0.5
                prev_bottom = top - 1.0
                continue
            base = 0.0 if prev_bottom is None else prev_bottom - 0.45 - _LANE_HI
            self.base[lane] = base
            prev_bottom = base + _LANE_LO
        self.bottom = prev_bottom
        self.x_first = 0.0
        self.x_last = self.x(NB - 1, self.ncols - 1)
        self.top = _LANE_HI
        self.t_row = _LANE_HI + 0.35
        self.mb_row = _LANE_HI + 0.95
        self.param_lo = _LANE_HI + 1.4
        self.param_hi = _LANE_HI + 2.2
        self.caption_y = self.bottom - 0.65
        self.legend_y = self.bottom - 1.35
        self.xr = (-1.85, self.x_last + 2.3)
        self.yr = (self.bottom - 1.8, self.param_hi + 0.25)

    def x(self, b, j):
        return b * self.pitch_b + j

    def boundary_x(self, k):
        """x of the dashed line between minibatch k-1 and k."""
        return self.x(k - 1, self.ncols - 1) + _GAP / 2

    def col_of_step(self, t):
        for c in self.cols:
            if c.first <= t <= c.last:
                return c
        raise ValueError(t)

    def y(self, lane, row):
        return self.base[lane] + row

    def band(self, lane):
        return self.base[lane] + _LANE_LO, self.base[lane] + _LANE_HI

    def real_lanes(self):
        return [i for i in self.lanes if i is not None]


def _cell_id(lane, b, t):
    return f"lane{lane}:b{b}t{t}"


def _tok(spec: DiagramSpec, b, lane, t, *, label=False):
    """The text of an input (or label) at minibatch b, lane, step t (1-based)."""
    s = t - 1
    if spec.show_chars:
        arr = spec.label_chars if label else spec.chars
        if arr is not None:
            return _char(arr[b, lane, s])
        if label and spec.chars is not None:
            nxt = _next_of(spec.chars, spec.random_iter, b, lane, s)
            if nxt is not None:
                return _char(nxt)
    arr = spec.labels if label else spec.tokens
    if arr is not None:
        return str(int(arr[b, lane, s]))
    if label and spec.tokens is not None:
        nxt = _next_of(spec.tokens, spec.random_iter, b, lane, s)
        if nxt is not None:
            return str(int(nxt))
        return "?"
    return ("y" if label else "x") + _sub(t)


def _next_of(arr, random_iter, b, lane, s):
    T = arr.shape[2]
    if s + 1 < T:
        return arr[b, lane, s + 1]
    if not random_iter and b + 1 < arr.shape[0]:
        return arr[b + 1, lane, 0]
    return None


def _hidden_text(spec: DiagramSpec, st: _Style, b, lane, t):
    h = spec.hidden
    if h is None:
        return None
    lanes = list(spec.hidden_lanes) if spec.hidden_lanes is not None else None
    if h.ndim >= 3 and h.shape[0] == spec.num_batches and (
            h.ndim == 4 or (h.ndim == 3 and h.shape[2] == spec.num_steps
                            and h.shape[1] != spec.num_steps)):
        h = h[b]
    elif b != spec.active_batch:
        return None
    row = lanes.index(lane) if lanes is not None and lane in lanes else (
        lane if lanes is None else None)
    if row is None or row >= h.shape[0] or t - 1 >= h.shape[1]:
        return None
    v = h[row, t - 1]
    if np.ndim(v) == 0:
        return st.tr("diag.hover.hsummary", value=_num(v))
    vals = ", ".join(f"{float(a):+.3f}" for a in np.ravel(v)[:8])
    return st.tr("diag.hover.hunits", k=min(8, np.size(v)), values=vals)


# ---------------------------------------------------------------------------
# the grid: static drawing
# ---------------------------------------------------------------------------
def _draw_grid(spec: DiagramSpec, g: _Geom, st: _Style, cv: _Canvas):
    NB = spec.num_batches
    real = g.real_lanes()
    cols = g.cols
    last_lane = real[-1]
    # shared parameters box
    cv.rect("params", g.x_first - 0.55, g.param_lo, g.x_last + 0.55, g.param_hi,
            line=st.orange, fill=st.param_fill, width=st.lw)
    cv.text("params:label", (g.x_first + g.x_last) / 2, (g.param_lo + g.param_hi) / 2,
            st.tr("diag.params.box"), size=st.base, color=st.ink)
    # lanes: background bands and names
    for lane in real:
        lo, hi = g.band(lane)
        cv.rect(f"lane:{lane}", g.xr[0] + 0.05, lo, g.x_last + 0.5, hi,
                fill=st.lane_fill)
        cv.text(f"lane-label:{lane}", -1.05, g.y(lane, _LBL),
                st.tr("diag.lane", i=lane), size=st.small, color=st.muted,
                bold=True)
    if g.more_y is not None:
        cv.text("more-lanes", (g.x_first + g.x_last) / 2, g.more_y,
                st.tr("diag.more_lanes", n=g.hidden_lanes), size=st.base,
                color=st.muted)
    # row names on the right of the first lane
    first = real[0]
    for key, row in (("diag.row.label", _LBL), ("diag.row.output", _O),
                     ("diag.row.hidden", _H), ("diag.row.input", _IN)):
        cv.text(f"row-name:{key.rsplit('.', 1)[1]}", g.x_last + 0.7,
                g.y(first, row), st.tr(key), size=st.small, color=st.muted,
                xanchor="left")
    # minibatch headers, step numbers
    for b in range(NB):
        xc = (g.x(b, 0) + g.x(b, g.ncols - 1)) / 2
        cv.text(f"minibatch:{b}", xc, g.mb_row, st.tr("diag.minibatch", n=b + 1),
                size=st.base, bold=True)
        for c in cols:
            label = "…" if c.ell else f"t={c.first}"
            cv.text(f"step:b{b}:c{c.j}", g.x(b, c.j), g.t_row, label,
                    size=st.small, color=st.muted)
    # boundaries
    for k in range(1, NB):
        xb = g.boundary_x(k)
        cv.line(f"boundary:{k}", xb, g.bottom - 0.05, xb, g.mb_row + 0.25,
                color=st.muted, width=st.thin + 0.5, dash="dash")
        if spec.random_iter:
            cv.text(f"restart:{k}", xb, g.mb_row, st.tr("diag.restart"),
                    size=st.small, color=st.green, bg=st.paper)
        else:
            cv.text(f"detach:{k}", xb, g.t_row, st.tr("diag.detach"),
                    size=st.small, color=st.blue, bg=st.paper)
    # cells
    for b in range(NB):
        for c in cols:
            x = g.x(b, c.j)
            if not c.ell:
                # the bus of shared parameters down this column
                xb = x - 0.42
                cv.line(f"param-bus:b{b}c{c.j}", xb, g.param_lo, xb,
                        g.y(last_lane, _H) + _HH + 0.2, color=st.orange,
                        width=st.thin, dash="dot")
            for lane in real:
                yH = g.y(lane, _H)
                if c.ell:
                    cv.text(f"ellipsis:lane{lane}:b{b}", x, yH, "…",
                            size=st.big, color=st.muted,
                            hovertext=st.tr("diag.hover.ellipsis", a=c.first,
                                            z=c.last))
                    continue
                t = c.first
                cid = _cell_id(lane, b, t)
                cv.rect(f"cell:{cid}", x - _HW, yH - _HH, x + _HW, yH + _HH,
                        line=st.blue, fill=st.blue_fill, width=st.lw)
                cv.text(f"cell-label:{cid}", x, yH, "H" + _sub(t),
                        size=st.small, color=st.blue)
                # input token -> cell
                yI = g.y(lane, _IN)
                cv.text(f"input:{cid}", x, yI, _tok(spec, b, lane, t),
                        size=st.base, bg="#ffffff", border=st.muted, pad=1)
                cv.arrow(f"arrow:in:{cid}->{cid}", x, yI + 0.24, x, yH - _HH,
                         color=st.ink, width=st.thin)
                # cell -> output
                yO = g.y(lane, _O)
                cv.rect(f"output:{cid}", x - _OW, yO - _OH, x + _OW, yO + _OH,
                        line=st.purple, fill=st.purple_fill, width=st.thin)
                cv.text(f"output-label:{cid}", x, yO, "O" + _sub(t),
                        size=st.small, color=st.purple)
                cv.arrow(f"arrow:out:{cid}->{cid}", x, yH + _HH, x, yO - _OH,
                         color=st.ink, width=st.thin)
                # output vs label (next token)
                yL = g.y(lane, _LBL)
                cv.text(f"label:{cid}", x, yL, _tok(spec, b, lane, t, label=True),
                        size=st.base, color=st.purple)
                cv.arrow(f"arrow:label:{cid}->{cid}", x, yO + _OH, x, yL - 0.2,
                         color=st.purple, width=st.thin, head=0)
                # shared parameters -> this cell
                cv.arrow(f"arrow:param:{cid}", xb, yH + _HH + 0.2,
                         x - _HW + 0.08, yH + _HH, color=st.orange,
                         width=st.thin, head=2)
    # horizontal arrows, inside a lane only
    for lane in real:
        yF, yG = g.y(lane, _H) + _FWD_DY, g.y(lane, _H) + _GRAD_DY
        for b in range(NB):
            for c0, c1 in zip(cols[:-1], cols[1:]):
                x0 = g.x(b, c0.j) + (0.25 if c0.ell else _HW)
                x1 = g.x(b, c1.j) - (0.25 if c1.ell else _HW)
                src, dst = _cell_id(lane, b, c0.last), _cell_id(lane, b, c1.first)
                cv.arrow(f"arrow:fwd:{src}->{dst}", x0, yF, x1, yF,
                         color=st.blue, width=st.lw)
                gsrc, gdst = _cell_id(lane, b, c1.first), _cell_id(lane, b, c0.last)
                cv.arrow(f"arrow:grad:{gsrc}->{gdst}", x1, yG, x0, yG,
                         color=st.red_faint, width=st.thin,
                         hovertext=st.tr("diag.hover.grad"))
            # where the gradient stops: the start of this minibatch
            xs = g.x(b, 0) - _HW
            cv.text(f"grad-stop:lane{lane}:b{b}", xs - 0.12, yG, "⊣",
                    size=st.small, color=st.red_faint,
                    hovertext=st.tr("diag.hover.gradstop"))
            # how the state enters this minibatch
            x_in = g.x(b, 0) - _HW
            if b == 0:
                cv.arrow(f"h0:lane{lane}:b0", -1.05, yF, x_in, yF, color=st.green,
                         width=st.lw, text=st.tr("diag.h0"), size=st.small)
            elif spec.random_iter:
                cv.arrow(f"h0:lane{lane}:b{b}", g.boundary_x(b) + 0.2, yF, x_in, yF,
                         color=st.green, width=st.lw, text=st.tr("diag.h0_short"),
                         size=st.small)
            else:
                src = _cell_id(lane, b - 1, spec.num_steps)
                dst = _cell_id(lane, b, 1)
                x0 = g.x(b - 1, g.ncols - 1) + _HW
                cv.arrow(f"arrow:fwd:{src}->{dst}", x0, yF, x_in, yF,
                         color=st.blue, width=st.lw,
                         hovertext=st.tr("diag.hover.detach"))
                cv.text(f"detach:{b}:lane{lane}", g.boundary_x(b), yF + 0.32,
                        st.tr("diag.detach"), size=st.small, color=st.blue,
                        bg=st.paper)
        if spec.random_iter:
            # the state at the end of a random minibatch is dropped
            for b in range(NB):
                xe = g.x(b, g.ncols - 1) + _HW
                cv.text(f"drop:lane{lane}:b{b}", xe + 0.2, yF, "✕",
                        size=st.small, color=st.muted,
                        hovertext=st.tr("diag.hover.drop"))
    # legend line
    legend = st.tr("diag.legend.random" if spec.random_iter else "diag.legend.seq")
    cv.text("legend", g.xr[0] + 0.1, g.legend_y, legend, size=st.small,
            color=st.muted, xanchor="left")


def _hover_trace(spec, g: _Geom, st: _Style):
    xs, ys, texts = [], [], []
    for b in range(spec.num_batches):
        for c in g.cols:
            if c.ell:
                continue
            for lane in g.real_lanes():
                t = c.first
                lines = [st.tr("diag.hover.cell", lane=lane, b=b + 1, t=t),
                         st.tr("diag.hover.io", x=_tok(spec, b, lane, t),
                               y=_tok(spec, b, lane, t, label=True)),
                         st.tr("diag.hover.formula"),
                         st.tr("diag.hover.shape", B=spec.batch_size,
                               H=spec.num_hiddens)]
                h = _hidden_text(spec, st, b, lane, t)
                if h:
                    lines.append(h)
                xs.append(g.x(b, c.j))
                ys.append(g.y(lane, _H))
                texts.append("<br>".join(lines))
    return go.Scatter(x=xs, y=ys, mode="markers", hovertext=texts,
                      hoverinfo="text", name="cells",
                      marker=dict(size=34 if st.present else 26,
                                  color="rgba(0,0,0,0)", symbol="square"))


# ---------------------------------------------------------------------------
# the phases of one training iteration
# ---------------------------------------------------------------------------
def phases(spec: DiagramSpec):
    """One training iteration, in order: T forward ticks, loss, T backward
    ticks (right to left, this minibatch only), clip, update, next.

    Each phase is a dict: index, kind (one of PHASE_KINDS), t (the time
    step, for forward/backward), batch (the minibatch trained), label (short,
    for a slider), caption (one sentence in spec.lang).
    """
    st = _Style(spec.lang, spec.present, spec.sketch)
    T, B, a = spec.num_steps, spec.batch_size, spec.active_batch
    out = [dict(kind="forward", t=t) for t in range(1, T + 1)]
    out.append(dict(kind="loss", t=None))
    out += [dict(kind="backward", t=t) for t in range(T, 0, -1)]
    out += [dict(kind="clip", t=None), dict(kind="update", t=None),
            dict(kind="next", t=None)]
    for i, p in enumerate(out):
        p["index"], p["batch"] = i, a
        kind, t = p["kind"], p["t"]
        if kind == "forward":
            p["label"] = st.tr("diag.slider.forward", t=t)
            p["caption"] = st.tr("diag.phase.forward", t=t, T=T, B=B)
        elif kind == "loss":
            p["label"] = st.tr("diag.slider.loss")
            p["caption"] = st.tr("diag.phase.loss", n=T * B, T=T, B=B)
        elif kind == "backward":
            p["label"] = st.tr("diag.slider.backward", t=t)
            if t > 1:
                key = "diag.phase.backward"
            elif spec.random_iter or a == 0:
                key = "diag.phase.backward_first_zero"
            else:
                key = "diag.phase.backward_first_detach"
            p["caption"] = st.tr(key, t=t, k=T - t, ts=_sub(t))
        elif kind == "clip":
            p["label"] = st.tr("diag.slider.clip")
            p["caption"] = _clip_caption(spec, st)
        elif kind == "update":
            p["label"] = st.tr("diag.slider.update")
            p["caption"] = st.tr("diag.phase.update")
        else:
            p["label"] = st.tr("diag.slider.next")
            if a + 1 >= spec.num_batches:
                key = "diag.phase.next_random_end" if spec.random_iter else "diag.phase.next_seq_end"
            else:
                key = "diag.phase.next_random" if spec.random_iter else "diag.phase.next_seq"
            p["caption"] = st.tr(key, Ts=_sub(T), n=a + 2)
    return out


def _clip_caption(spec, st):
    th, nb, na = spec.theta, spec.grad_norm_before, spec.grad_norm_after
    if th is None:
        if nb is None:
            return st.tr("diag.phase.clip_off")
        return st.tr("diag.phase.clip_off_norm", before=_num(nb))
    if nb is None:
        return st.tr("diag.phase.clip", theta=_num(th))
    if na is None:
        na = min(nb, th)
    if nb > th:
        return st.tr("diag.phase.clip_cut", before=_num(nb), after=_num(na),
                     theta=_num(th), factor=_num(th / nb))
    return st.tr("diag.phase.clip_keep", before=_num(nb), theta=_num(th))


def _wobble(points, name, st, g_wx, g_wy):
    """Polylines (None-separated) made slightly wobbly for the sketch style."""
    if not st.sketch:
        return points
    xs, ys = points
    r = _rng(name)
    out_x, out_y = [], []
    for k in range(len(xs)):
        if xs[k] is None:
            out_x.append(None)
            out_y.append(None)
            continue
        j = r.uniform(-0.6, 0.6, 2)
        out_x.append(xs[k] + j[0] * g_wx)
        out_y.append(ys[k] + j[1] * g_wy)
    return out_x, out_y


def _box(xs, ys, x0, y0, x1, y1):
    xs += [x0, x1, x1, x0, x0, None]
    ys += [y0, y0, y1, y1, y0, None]


def _seg(xs, ys, x0, y0, x1, y1):
    xs += [x0, x1, None]
    ys += [y0, y1, None]


def _phase_traces(spec, g: _Geom, st: _Style, phase):
    """The traces that change from phase to phase (always the same 9)."""
    real = g.real_lanes()
    T = spec.num_steps
    a = spec.active_batch
    cells_x, cells_y = [], []          # lit cells (forward)
    cur_x, cur_y = [], []              # the current step's cells
    fwd_x, fwd_y = [], []              # lit forward arrows
    grad_x, grad_y = [], []            # lit gradient arrows
    gcell_x, gcell_y = [], []          # cells holding dL/dH
    out_x, out_y = [], []              # outputs and labels (loss)
    par_x, par_y = [], []              # the parameters box
    txt_x, txt_y, txt = [], [], []     # labels of the moment
    par_color = st.param_fill
    if phase is None:
        caption = st.tr("diag.caption.static")
        kind, t = None, None
    else:
        kind, t = phase["kind"], phase["t"]
        caption = phase["caption"]

    def cells_upto(tmax, xs, ys, pad=0.06):
        for c in g.cols:
            if c.first > tmax:
                continue
            for lane in real:
                x, y = g.x(a, c.j), g.y(lane, _H)
                if c.ell:
                    _box(xs, ys, x - 0.25, y - _HH, x + 0.25, y + _HH)
                else:
                    _box(xs, ys, x - _HW - pad, y - _HH - pad, x + _HW + pad,
                         y + _HH + pad)

    def fwd_upto(tmax):
        for lane in real:
            y = g.y(lane, _H) + _FWD_DY
            if a == 0 or spec.random_iter:
                _seg(fwd_x, fwd_y, -0.5 if a == 0 else g.boundary_x(a) + 0.2, y,
                     g.x(a, 0) - _HW, y)
            else:
                _seg(fwd_x, fwd_y, g.x(a - 1, g.ncols - 1) + _HW, y,
                     g.x(a, 0) - _HW, y)
            for c0, c1 in zip(g.cols[:-1], g.cols[1:]):
                if c1.first > tmax:
                    break
                _seg(fwd_x, fwd_y, g.x(a, c0.j) + (0.25 if c0.ell else _HW), y,
                     g.x(a, c1.j) - (0.25 if c1.ell else _HW), y)

    def grads_downto(tmin):
        for lane in real:
            y = g.y(lane, _H) + _GRAD_DY
            for c0, c1 in zip(g.cols[:-1], g.cols[1:]):
                if c0.last >= tmin:
                    _seg(grad_x, grad_y, g.x(a, c1.j) - (0.25 if c1.ell else _HW), y,
                         g.x(a, c0.j) + (0.25 if c0.ell else _HW), y)
        for c in g.cols:
            if c.last < tmin:
                continue
            for lane in real:
                x, y = g.x(a, c.j), g.y(lane, _H)
                hw = 0.25 if c.ell else _HW
                _box(gcell_x, gcell_y, x - hw, y - _HH, x + hw, y + _HH)

    def outputs(cols):
        for c in cols:
            if c.ell:
                continue
            for lane in real:
                x = g.x(a, c.j)
                yO, yL = g.y(lane, _O), g.y(lane, _LBL)
                _box(out_x, out_y, x - _OW - 0.05, yO - _OH - 0.05,
                     x + _OW + 0.05, yL + 0.22)

    if kind == "forward":
        cells_upto(t, cells_x, cells_y)
        fwd_upto(t)
        col = g.col_of_step(t)
        for lane in real:
            x, yH = g.x(a, col.j), g.y(lane, _H)
            hw = 0.25 if col.ell else _HW
            _box(cur_x, cur_y, x - hw - 0.1, g.y(lane, _IN) - 0.3, x + hw + 0.1,
                 yH + _HH + 0.1)
            if not col.ell:
                _seg(fwd_x, fwd_y, x, g.y(lane, _IN) + 0.24, x, yH - _HH)
                _seg(fwd_x, fwd_y, x, yH + _HH, x, g.y(lane, _O) - _OH)
        if col.ell:
            txt_x.append(g.x(a, col.j))
            txt_y.append(g.t_row - 0.28)
            txt.append(f"t={t}")
        outputs([col])
    elif kind == "loss":
        cells_upto(T, cells_x, cells_y)
        fwd_upto(T)
        outputs(g.cols)
        xc = (g.x(a, 0) + g.x(a, g.ncols - 1)) / 2
        txt_x.append(xc)
        txt_y.append(g.t_row - 0.05)
        txt.append(st.tr("diag.loss_tag", n=T * spec.batch_size))
    elif kind == "backward":
        cells_upto(T, cells_x, cells_y)
        grads_downto(t)
        col = g.col_of_step(t)
        for lane in real:
            x, yH = g.x(a, col.j), g.y(lane, _H)
            hw = 0.25 if col.ell else _HW
            _box(cur_x, cur_y, x - hw - 0.1, yH - _HH - 0.1, x + hw + 0.1,
                 g.y(lane, _O) + _OH + 0.1)
            if t < T:
                # the arrow just taken carries one more W_hh^T
                nxt = g.col_of_step(t + 1)
                txt_x.append((g.x(a, col.j) + g.x(a, nxt.j)) / 2)
                txt_y.append(yH - 0.6)
                txt.append(st.tr("diag.times_whh"))
            if t == 1:
                txt_x.append(g.x(a, 0) - _HW - 0.55)
                txt_y.append(yH - 0.6)
                txt.append(st.tr("diag.stop"))
        if col.ell and t < T:
            txt_x.append(g.x(a, col.j))
            txt_y.append(g.t_row - 0.28)
            txt.append(f"t={t}")
    elif kind in ("clip", "update"):
        cells_upto(T, cells_x, cells_y)
        grads_downto(1)
        _box(par_x, par_y, g.x_first - 0.55, g.param_lo, g.x_last + 0.55, g.param_hi)
        par_color = "rgba(217,119,6,0.35)" if kind == "clip" else "rgba(21,128,61,0.30)"
        txt_x.append(g.x_last + 0.55)
        txt_y.append(g.param_hi + 0.02)
        txt.append(st.tr("diag.clip_tag" if kind == "clip" else "diag.update_tag"))
    elif kind == "next":
        nb = a + 1
        if nb < spec.num_batches:
            for lane in real:
                y = g.y(lane, _H) + _FWD_DY
                if spec.random_iter:
                    _seg(fwd_x, fwd_y, g.boundary_x(nb) + 0.2, y, g.x(nb, 0) - _HW, y)
                else:
                    _seg(fwd_x, fwd_y, g.x(a, g.ncols - 1) + _HW, y,
                         g.x(nb, 0) - _HW, y)
                x = g.x(nb, 0)
                _box(cur_x, cur_y, x - _HW - 0.1, y - _HH - 0.18, x + _HW + 0.1,
                     y + _HH + 0.02)

    wx, wy = 0.03, 0.03
    cells_x, cells_y = _wobble((cells_x, cells_y), "lit-cells", st, wx, wy)
    fwd_x, fwd_y = _wobble((fwd_x, fwd_y), "lit-fwd", st, wx, wy)
    grad_x, grad_y = _wobble((grad_x, grad_y), "lit-grad", st, wx, wy)
    fill = dict(mode="lines", fill="toself", hoverinfo="skip")
    traces = [
        go.Scatter(x=cells_x, y=cells_y, name="lit:cells", **fill,
                   line=dict(color=st.blue, width=st.lw + 1),
                   fillcolor="rgba(37,99,235,0.35)"),
        go.Scatter(x=cur_x, y=cur_y, name="lit:current", mode="lines",
                   hoverinfo="skip",
                   line=dict(color=st.orange, width=st.lw + 1, dash="dot")),
        go.Scatter(x=fwd_x, y=fwd_y, name="lit:fwd", mode="lines", hoverinfo="skip",
                   line=dict(color="rgba(37,99,235,0.45)", width=st.hl)),
        go.Scatter(x=grad_x, y=grad_y, name="lit:grad", mode="lines",
                   hoverinfo="skip",
                   line=dict(color="rgba(220,38,38,0.55)", width=st.hl)),
        go.Scatter(x=gcell_x, y=gcell_y, name="lit:gradcells", **fill,
                   line=dict(color=st.red, width=st.lw + 1),
                   fillcolor="rgba(220,38,38,0.22)"),
        go.Scatter(x=out_x, y=out_y, name="lit:outputs", **fill,
                   line=dict(color=st.purple, width=st.lw),
                   fillcolor="rgba(124,58,237,0.18)"),
        go.Scatter(x=par_x, y=par_y, name="lit:params", **fill,
                   line=dict(color=st.orange, width=st.lw + 1), fillcolor=par_color),
        go.Scatter(x=txt_x, y=txt_y, name="lit:text", mode="text", text=txt,
                   hoverinfo="skip", textposition="middle center",
                   textfont=dict(size=st.small, color=st.red, family=st.family)),
        go.Scatter(x=[g.xr[0] + 0.1], y=[g.caption_y], name="caption", mode="text",
                   text=[f"<b>{caption}</b>"], hoverinfo="skip",
                   textposition="middle right",
                   textfont=dict(size=st.base, color=st.ink, family=st.family)),
    ]
    return traces


def _grid_height(g: _Geom, st: _Style, extra=0):
    units = g.yr[1] - g.yr[0]
    ppu = 46 if st.present else 38
    return max(420, int(units * ppu) + (70 if st.present else 56) + 10 + extra)


def _grid_base(spec: DiagramSpec, extra_height=0):
    st = _Style(spec.lang, spec.present, spec.sketch)
    g = _Geom(spec)
    fig = go.Figure()
    cv = _Canvas(st, 0.035, 0.035)
    _draw_grid(spec, g, st, cv)
    cv.apply(fig)
    key = "diag.title.grid_random" if spec.random_iter else "diag.title.grid_seq"
    st.layout(fig, st.tr(key, B=spec.batch_size, T=spec.num_steps,
                         nb=spec.num_batches),
              _grid_height(g, st, extra_height), xr=list(g.xr), yr=list(g.yr))
    fig.add_trace(_hover_trace(spec, g, st))
    return fig, g, st


def grid_figure(spec: DiagramSpec, phase=None) -> go.Figure:
    """The lane grid; with `phase` (an index into phases(spec)) that phase lit."""
    fig, g, st = _grid_base(spec)
    ph = None
    if phase is not None:
        all_phases = phases(spec)
        ph = all_phases[int(phase)] if not isinstance(phase, dict) else phase
    for tr in _phase_traces(spec, g, st, ph):
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
    fig, g, st = _grid_base(spec, extra)
    ph = phases(spec)
    start = min(max(int(start), 0), len(ph) - 1)
    first = _phase_traces(spec, g, st, ph[start])
    for tr in first:
        fig.add_trace(tr)
    idx = list(range(1, 1 + len(first)))
    fig.frames = [go.Frame(name=str(p["index"]), data=_phase_traces(spec, g, st, p),
                           traces=idx) for p in ph]
    many = len(ph) > 24
    steps = []
    for p in ph:
        label = p["label"]
        if many and p["kind"] in ("forward", "backward") and p["t"] not in (
                1, spec.num_steps) and p["t"] % 5:
            label = ""
        steps.append(dict(method="animate", label=label,
                          args=[[str(p["index"])],
                                dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                     transition=dict(duration=0))]))
    play = dict(label=st.tr("diag.anim.play"), method="animate",
                args=[None, dict(frame=dict(duration=int(duration_ms), redraw=True),
                                 fromcurrent=True, transition=dict(duration=0),
                                 mode="immediate")])
    pause = dict(label=st.tr("diag.anim.pause"), method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False),
                                    mode="immediate", transition=dict(duration=0))])
    restart = dict(label=st.tr("diag.anim.restart"), method="animate",
                   args=[[str(ph[0]["index"])],
                         dict(frame=dict(duration=0, redraw=True), mode="immediate",
                              transition=dict(duration=0))])
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


# ---------------------------------------------------------------------------
# the shape strip
# ---------------------------------------------------------------------------
def shape_strip_figure(vocab_size=28, num_hiddens=512, batch_size=32, num_steps=35,
                       *, lang="en", present=False, sketch=False) -> go.Figure:
    """The shapes of one forward pass as boxes and arrows, with the run's sizes."""
    st = _Style(lang, present, sketch)
    V, H, B, T = int(vocab_size), int(num_hiddens), int(batch_size), int(num_steps)
    items = {label: (shape, note, group)
             for label, shape, note, group in _shape_items(V, H, B, T)}
    colors = {"in": ("#475569", "#f1f5f9"), "param": (st.orange, st.param_fill),
              "state": (st.blue, st.blue_fill), "out": (st.purple, st.purple_fill),
              "loss": (st.red, st.red_fill)}
    cv = _Canvas(st, 2.0, 2.0)
    row_h, box_h = (118, 62) if present else (92, 48)
    x_left = 230 if present else 180

    def box(name, x, y, label, shape, group):
        w = max(_text_px(label, st.small, True), _text_px(shape, st.small)) + 24
        line, fill = colors[group]
        cv.rect(f"box:{name}", x, y - box_h / 2, x + w, y + box_h / 2, line=line,
                fill=fill, width=st.thin + 0.5)
        cv.text(f"box-label:{name}", x + w / 2, y + box_h * 0.2, label,
                size=st.small, color=line, bold=True)
        cv.text(f"box-shape:{name}", x + w / 2, y - box_h * 0.22, shape,
                size=st.small, color=st.ink)
        return x + w

    def op(name, x, y, text, width=None):
        w = width or (_text_px(text, st.base) + 14)
        cv.text(f"op:{name}", x + w / 2, y, text, size=st.base, color=st.muted)
        return x + w

    def arrow(name, x, y, text=""):
        w = max(46, _text_px(text, st.small) + 20)
        cv.arrow(f"arrow:{name}", x + 4, y, x + w - 4, y, color=st.ink,
                 width=st.thin + 0.5)
        if text:
            cv.text(f"arrow-label:{name}", x + w / 2, y + (18 if present else 14),
                    text, size=st.small, color=st.muted)
        return x + w

    rows = [st.tr("diag.shapes.row.input"), st.tr("diag.shapes.row.step", T=T),
            st.tr("diag.shapes.row.output", T=T), st.tr("diag.shapes.row.loss"),
            st.tr("diag.shapes.row.params")]
    ys = [-(k * row_h) for k in range(len(rows))]
    for k, (name, y) in enumerate(zip(rows, ys)):
        cv.text(f"row:{k}", 6, y, name, size=st.small, color=st.ink, xanchor="left",
                bold=True)
    # row 0: X -> X.T -> one_hot
    y = ys[0]
    x = box("X", x_left, y, "X", items["X"][0], "in")
    x = arrow("transpose", x, y, ".T")
    x = box("XT", x, y, "X.T", items["X.T"][0], "in")
    x = arrow("onehot", x, y, "one_hot")
    x = box("onehot", x, y, "one_hot(X.T, V)", items["one_hot(X.T, V)"][0], "in")
    below = box_h / 2 + (18 if present else 14)
    cv.text("note:onehot", x_left, y - below, st.tr("diag.shapes.note.onehot"),
            size=st.small, color=st.muted, xanchor="left")
    # row 1: per step
    y = ys[1]
    x = box("Xt", x_left, y, "X_t", items["X_t"][0], "in")
    x = op("mm1", x, y, "@")
    x = box("Wxh", x, y, "W_xh", items["W_xh"][0], "param")
    x = op("plus1", x, y, "+")
    x = box("Hprev", x, y, "H", items["H_{t-1}"][0], "state")
    x = op("mm2", x, y, "@")
    x = box("Whh", x, y, "W_hh", items["W_hh"][0], "param")
    x = op("plus2", x, y, "+")
    x = box("bh", x, y, "b_h", items["b_h"][0], "param")
    x = arrow("tanh", x, y, "tanh")
    hlabel = "H_t = tanh(X_t @ W_xh + H_{t-1} @ W_hh + b_h)"
    x = box("H", x, y, "H", items[hlabel][0], "state")
    cv.text("note:h", x_left, y - below, st.tr("diag.shapes.note.h"),
            size=st.small, color=st.muted, xanchor="left")
    # row 2: output per step
    y = ys[2]
    x = box("Ht", x_left, y, "H", items[hlabel][0], "state")
    x = op("mm3", x, y, "@")
    x = box("Whq", x, y, "W_hq", items["W_hq"][0], "param")
    x = op("plus3", x, y, "+")
    x = box("bq", x, y, "b_q", items["b_q"][0], "param")
    x = arrow("yt", x, y)
    x = box("Yt", x, y, "Y_t", items["Y_t = H_t @ W_hq + b_q"][0], "out")
    cv.text("note:yt", x + 14, y, st.tr("diag.shapes.note.yt", T=T), size=st.small,
            color=st.muted, xanchor="left")
    # row 3: stacking, labels, loss
    y = ys[3]
    x = box("cat", x_left, y, "cat(outputs, dim=0)", items["cat(outputs, dim=0)"][0],
            "out")
    x = op("and", x, y, st.tr("diag.shapes.vs"))
    x = box("labels", x, y, "Y.T.reshape(-1)", items["labels = Y.T.reshape(-1)"][0],
            "out")
    x = arrow("ce", x, y, st.tr("diag.shapes.ce"))
    x = box("loss", x, y, "mean", items["loss = cross_entropy(...).mean()"][0], "loss")
    cv.text("note:loss", x + 14, y, st.tr("diag.shapes.note.loss"), size=st.small,
            color=st.muted, xanchor="left")
    cv.text("note:cat", x_left, y - below,
            st.tr("diag.shapes.note.cat", B=B, T=T, TB=T * B), size=st.small,
            color=st.muted, xanchor="left")
    # row 4: parameters
    y = ys[4]
    formula = (f"{V}·{H} + {H}·{H} + {H} + {H}·{V} + {V} = "
               f"<b>{param_count(V, H):,}</b>")
    cv.text("params:formula", x_left, y + 12, "W_xh + W_hh + b_h + W_hq + b_q = "
            + formula, size=st.base, color=st.orange, xanchor="left")
    cv.text("params:note", x_left, y - (22 if present else 17),
            st.tr("diag.shapes.note.params"), size=st.small, color=st.muted,
            xanchor="left")
    fig = go.Figure()
    cv.apply(fig)
    x_max = 1240 if present else 1160
    y_lo, y_hi = ys[-1] - row_h * 0.55, ys[0] + row_h * 0.5
    st.layout(fig, st.tr("diag.title.shapes", B=B, T=T, V=V, H=H),
              (y_hi - y_lo) + (70 if present else 56) + 16,
              xr=[0, x_max], yr=[y_lo, y_hi])
    return fig


# ---------------------------------------------------------------------------
# clipping
# ---------------------------------------------------------------------------
def _clip_radius(n, unit):
    """Visual radius of a norm: linear up to `unit`, then +1 per factor of 10."""
    n = max(float(n), 0.0)
    if n <= unit:
        return n / unit
    return 1.0 + math.log10(n / unit)


def clip_figure(theta, norm_before, norm_after=None, *, lang="en", present=False,
                sketch=False) -> go.Figure:
    """g <- min(1, theta/||g||) g as a vector pulled back onto a sphere.

    The picture (left) uses a log-ish radius: linear inside the sphere, one
    dotted ring per factor of 10 outside it, so ||g|| = 1e4 next to theta = 1
    stays drawable.  theta None (or <= 0): clipping off, no sphere, the arrow
    unchanged.  norm_before None: an illustrative gradient of 10 theta.
    """
    st = _Style(lang, present, sketch)
    if theta is not None and not theta > 0:
        theta = None
    example = norm_before is None
    unit = theta if theta is not None else 1.0
    nb = 10.0 * unit if example else float(norm_before)
    if norm_after is None:
        na = nb if theta is None else min(nb, theta)
    else:
        na = float(norm_after)
    clipped = theta is not None and nb > theta
    rb, ra = _clip_radius(nb, unit), _clip_radius(na, unit)
    ang = math.radians(32)
    ux, uy = math.cos(ang), math.sin(ang)
    R = max(rb, 1.0)
    s = max(1.0, R / 3)               # label offsets grow with the picture
    cv = _Canvas(st, 0.012 * max(R, 2), 0.012 * max(R, 2))
    # decade rings (the log part of the scale)
    ndec = int(math.ceil(R - 1.0 - 1e-9)) if R > 1 else 0
    step = max(1, int(math.ceil(ndec / 6))) if ndec else 1
    for k in range(step, ndec + 1, step):
        r = 1.0 + k
        cv.circle(f"ring:{k}", 0, 0, r, color=st.faint, width=st.thin, dash="dot")
        lbl = ("10" if k == 1 else f"10<sup>{k}</sup>") + ("θ" if theta else "")
        cv.text(f"ring-label:{k}", -r * 0.7071, -r * 0.7071, lbl, size=st.small,
                color=st.muted, bg=st.paper)
    if theta is not None:
        cv.circle("sphere", 0, 0, 1.0, color=st.green, width=st.lw,
                  fill="rgba(21,128,61,0.10)")
        cv.text("sphere-label", 0.7071 + 0.08, -0.7071 - 0.05,
                st.tr("diag.clip.sphere", theta=_num(theta)), size=st.small,
                color=st.green, xanchor="left", yanchor="top")
    else:
        cv.circle("unit", 0, 0, 1.0, color=st.faint, width=st.thin, dash="dot")
        cv.text("unit-label", -0.7071, -0.7071, "1", size=st.small, color=st.muted,
                bg=st.paper)
    cv.text("origin", 0, 0, "•", size=st.base, color=st.ink)
    cv.arrow("arrow:g", 0, 0, rb * ux, rb * uy, color=st.red,
             width=st.lw + (1 if clipped else 0), opacity=0.55 if clipped else 1.0)
    key = "diag.clip.before_example" if example else "diag.clip.before"
    cv.text("label:before", (rb + 0.12 * s) * ux, (rb + 0.12 * s) * uy,
            st.tr(key, n=_num(nb)), size=st.base, color=st.red, xanchor="left",
            yanchor="bottom",
            bg="rgba(255,255,255,0.75)")
    if clipped:
        cv.arrow("arrow:g_clipped", 0, 0, ra * ux, ra * uy, color=st.green,
                 width=st.lw + 2)
        # the pull back, drawn beside the ray (above-left of it)
        off = 0.28 * s
        px, py = -uy * off, ux * off
        cv.arrow("arrow:pullback", rb * ux + px, rb * uy + py, 1.0 * ux + px,
                 1.0 * uy + py, color=st.ink, width=st.thin + 0.5, head=2)
        mid = (rb + 1.0) / 2
        cv.text("label:factor", mid * ux + px * 1.4, mid * uy + py * 1.4,
                st.tr("diag.clip.factor", f=_num(theta / nb)), size=st.small,
                color=st.ink, xanchor="right", yanchor="bottom",
                bg="rgba(255,255,255,0.75)")
        cv.text("label:after", ra * ux + 0.12 * s, ra * uy - 0.12 * s,
                st.tr("diag.clip.after", n=_num(na)), size=st.base, color=st.green,
                xanchor="left", yanchor="top", bg="rgba(255,255,255,0.75)")
    # the text column on the right (paper coordinates)
    if theta is None:
        verdict, vcolor = st.tr("diag.clip.off"), st.muted
    elif clipped:
        verdict, vcolor = st.tr("diag.clip.cut", before=_num(nb), theta=_num(theta),
                                after=_num(na)), st.green
    else:
        verdict, vcolor = st.tr("diag.clip.keep", before=_num(nb),
                                theta=_num(theta)), st.ink
    column = [("rule", st.tr("diag.clip.rule"), st.big, st.ink, True),
              ("verdict", verdict, st.base, vcolor, False),
              ("scale-note", st.tr("diag.clip.scale"), st.small, st.muted, False),
              ("norm-note", st.tr("diag.clip.note"), st.small, st.muted, False)]
    ys = [0.95, 0.75, 0.42, 0.18]
    for (name, text, size, color, bold), yy in zip(column, ys):
        cv.annotations.append(dict(
            name=name, xref="paper", yref="paper", x=0.62, y=yy, xanchor="left",
            yanchor="top", showarrow=False, align="left",
            text=f"<b>{text}</b>" if bold else text,
            font=dict(size=size, color=color)))
    fig = go.Figure()
    cv.apply(fig)
    pad = 0.5 * s
    xr = [-R - pad, R + pad]
    yr = [-R - pad, R + pad]
    st.layout(fig, st.tr("diag.title.clip"), 560 if present else 440, equal=True,
              xr=xr, yr=yr)
    fig.update_xaxes(domain=[0.0, 0.5])
    return fig


# ---------------------------------------------------------------------------
# prediction strip
# ---------------------------------------------------------------------------
def prediction_strip_figure(prefix, generated, *, num_hiddens=512, lang="en",
                            present=False, sketch=False, max_cols=None) -> go.Figure:
    """predict_ch8 drawn: batch 1, state (1, H); the prefix only warms the
    state up, then each greedy argmax is fed back as the next input.

    `generated` is the predicted text after the prefix (not including it).
    """
    st = _Style(lang, present, sketch)
    prefix, generated = str(prefix), str(generated)
    if not prefix:
        raise ValueError("prefix must be at least one character")
    max_cols = max_cols or (15 if present else 19)
    # the cells: (kind, input char, output char or None, step number)
    warm = [("warm", prefix[k], None, k + 1) for k in range(len(prefix) - 1)]
    ins = prefix[-1] + generated[:-1] if generated else ""
    pred = [("pred", ins[k], generated[k], len(warm) + k + 1)
            for k in range(len(generated))]
    # summarise: warm-up keeps its 2 first and 2 last, predictions their head
    if len(warm) + len(pred) > max_cols and len(warm) > 5:
        warm_cols = warm[:2] + [("ell", None, None, None)] + warm[-2:]
    else:
        warm_cols = list(warm)
    room = max(3, max_cols - len(warm_cols))
    if len(pred) > room:
        pred_cols = pred[:room - 1] + [("more", None, None, len(pred) - room + 1)]
    else:
        pred_cols = list(pred)
    cols = warm_cols + pred_cols
    IN, HH, OUT = 0.0, 1.15, 2.3
    cv = _Canvas(st, 0.03, 0.03)
    xs = [float(k) for k in range(len(cols))]
    yF = HH + 0.05
    cv.arrow("h0", -1.0, yF, -_HW, yF, color=st.green, width=st.lw,
             text=st.tr("diag.h0"), size=st.small)
    cv.text("state-shape", -0.95, HH - 0.55, st.tr("diag.predict.state", H=num_hiddens),
            size=st.small, color=st.muted)
    for k, (kind, cin, cout, step) in enumerate(cols):
        x = xs[k]
        if kind in ("ell", "more"):
            if kind == "ell":
                cv.text(f"ellipsis:{k}", x, HH, "…", size=st.base, color=st.muted)
            else:
                cv.text(f"ellipsis:{k}", x - 0.22, HH,
                        st.tr("diag.predict.more", n=step), size=st.small,
                        color=st.muted, xanchor="left")
        else:
            fill = st.blue_fill
            cv.rect(f"cell:{k}", x - _HW, HH - _HH, x + _HW, HH + _HH, line=st.blue,
                    fill=fill, width=st.lw)
            cv.text(f"cell-label:{k}", x, HH, "H" + _sub(step), size=st.small,
                    color=st.blue)
            fed_back = kind == "pred" and k > 0 and cols[k - 1][0] == "pred"
            cv.text(f"input:{k}", x, IN, _char(cin), size=st.base,
                    bg="#ffffff", border=st.green if fed_back else st.muted, pad=2)
            cv.arrow(f"arrow:in:{k}", x, IN + 0.26, x, HH - _HH, color=st.ink,
                     width=st.thin)
            if kind == "pred":
                cv.arrow(f"arrow:out:{k}", x, HH + _HH, x, OUT - 0.26, color=st.ink,
                         width=st.thin)
                cv.text(f"output:{k}", x, OUT, _char(cout), size=st.base,
                        color=st.purple, bg=st.purple_fill, border=st.purple, pad=2)
                nxt = cols[k + 1] if k + 1 < len(cols) else None
                if nxt is not None and nxt[0] == "pred":
                    # argmax fed back: curve from this output to the next input
                    x0, y0 = x + 0.2, OUT
                    x1, y1 = x + 0.6, IN + 0.05
                    d = (f"M {_p(x0, y0)} C {_p(x + 0.62, OUT)} {_p(x + 0.38, IN + 0.05)}"
                         f" {_p(x1, y1)}")
                    cv.path(f"feedback:{k}", d, color=st.green, width=st.thin + 0.5)
                    cv.arrow(f"arrow:feedback:{k}->{k + 1}", x1 - 0.02, y1,
                             xs[k + 1] - 0.2, IN, color=st.green, width=st.thin + 0.5)
        if k + 1 < len(cols):
            x0 = x + (0.25 if kind in ("ell", "more") else _HW)
            x1 = xs[k + 1] - (0.25 if cols[k + 1][0] in ("ell", "more") else _HW)
            cv.arrow(f"arrow:state:{k}->{k + 1}", x0, yF, x1, yF, color=st.blue,
                     width=st.lw)
    # section headers
    n_w = len(warm_cols)
    top = OUT + 0.75
    if n_w:
        cv.rect("section:warmup", -0.45, IN - 0.45, n_w - 1 + 0.45, top - 0.25,
                fill="rgba(148,163,184,0.12)")
        cv.text("header:warmup", (n_w - 1) / 2, top,
                st.tr("diag.predict.warmup", n=len(warm)), size=st.small,
                color=st.muted, bold=True)
    if pred_cols:
        x0 = n_w
        cv.rect("section:predict", x0 - 0.45, IN - 0.45, len(cols) - 1 + 0.45,
                top - 0.25, fill="rgba(21,128,61,0.07)")
        cv.text("header:predict", (x0 + len(cols) - 1) / 2, top,
                st.tr("diag.predict.greedy", n=len(generated)), size=st.small,
                color=st.green, bold=True)
    fig = go.Figure()
    cv.apply(fig)
    xr = [-1.7, len(cols) - 0.4 + (0.9 if cols and cols[-1][0] == "more" else 0)]
    yr = [IN - 0.7, top + 0.45]
    st.layout(fig, st.tr("diag.title.predict", prefix=html.escape(prefix.strip())),
              (yr[1] - yr[0]) * (62 if present else 50) + (70 if present else 56) + 10,
              xr=xr, yr=yr)
    return fig
