"""The diagram's look and a small drawing canvas (clean or hand-drawn).

Colours and fonts come from charrnn.style, shared with the charts; the
canvas collects named shapes and annotations so tests can read what is drawn.
"""
from __future__ import annotations

import math
import re
import unicodedata
import zlib

import numpy as np

from charrnn import style as S
from charrnn.i18n import t as _tr

SKETCH_SEED = 85  # d2l 8.5: the fixed seed of the hand-drawn jitter
SKETCH_FONT = S.FONTS_SKETCH
CLEAN_FONT = S.FONTS_LATIN
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(n) -> str:
    """n as subscript digits (H₁, O₁₂)."""
    return str(n).translate(_SUB)


char = S.visible_char


class Look:
    """Sizes for screen or projector, the shared palette, the language."""

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
        self._colours()

    def _colours(self):
        # palette hues, darkened where they carry text on white
        self.ink, self.muted, self.faint = S.INK, S.MUTED, S.FAINT
        self.blue, self.blue_fill = S.BLUE, S.tint(S.BLUE, 0.86)
        self.red = S.VERMILLION
        self.red_faint, self.red_fill = S.tint(S.VERMILLION, 0.5), S.tint(S.VERMILLION, 0.88)
        self.orange, self.param_fill = S.shade(S.ORANGE, 0.2), S.tint(S.ORANGE, 0.82)
        self.green, self.green_fill = S.shade(S.GREEN, 0.2), S.tint(S.GREEN, 0.85)
        self.purple, self.purple_fill = S.shade(S.PURPLE, 0.35), S.tint(S.PURPLE, 0.82)
        self.slate, self.slate_fill = S.shade(S.MUTED, 0.3), S.tint(S.MUTED, 0.9)
        self.lane_fill = S.rgba(S.MUTED, 0.08)
        self.paper = "#fffdf6" if self.sketch else S.WHITE

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


def jitter_rng(name):
    """The jitter of one named stroke: the same drawing on every rerun."""
    return np.random.default_rng(zlib.crc32(name.encode("utf-8")) ^ SKETCH_SEED)


def pt(x, y):
    return f"{x:.4f},{y:.4f}"


class Canvas:
    """Collects named shapes and annotations; jitters them in sketch style.

    wx, wy: the wobble amplitude in data units (about 2 px) along x and y.
    """

    def __init__(self, st: Look, wx=0.03, wy=0.03):
        self.st, self.wx, self.wy = st, wx, wy
        self.shapes: list[dict] = []
        self.annotations: list[dict] = []

    # -- sketch helpers
    def _stroke(self, name, x0, y0, x1, y1, overshoot=0.0):
        """A wobbly SVG path from (x0, y0) to (x1, y1)."""
        r = jitter_rng(name)
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
        return f"M {pt(*a)} Q {pt(*c)} {pt(*b)}"

    def _jit(self, name, n, amp=0.7):
        return jitter_rng(name).uniform(-amp, amp, n)

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
        jit = jitter_rng(name)
        start = jit.uniform(0, 2 * math.pi)
        amp = jit.uniform(0.6, 1.2, 3)
        phase = jit.uniform(0, 2 * math.pi, 3)
        pts = []
        for k in range(n + 6):  # a little more than a full turn, as by hand
            a = start + 2 * math.pi * k / n
            w = sum(amp[i] * math.sin((i + 2) * a + phase[i]) for i in range(3)) / 2
            w += 1.5 * k / n    # the stroke ends a little off its start
            pts.append((cx + (r + w * self.wx) * math.cos(a),
                        cy + (r + w * self.wy) * math.sin(a)))
        path = "M " + " L ".join(pt(*q) for q in pts)
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


def num(x) -> str:
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


def text_px(text, size, bold=False) -> float:
    """Rough rendered width of a label in px (CJK characters count double)."""
    text = re.sub(r"<[^>]+>", "", str(text))
    w = 0.0
    for ch in text:
        w += 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.58
    return w * size * (1.06 if bold else 1.0)
