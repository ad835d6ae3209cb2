"""Gradient clipping as a vector pulled back onto a sphere of radius theta."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from charrnn import style as S

from .canvas import Canvas, Look, num


def clip_radius(n, unit):
    """Visual radius of a norm: linear up to `unit`, then +1 per factor of 10."""
    n = max(float(n), 0.0)
    if n <= unit:
        return n / unit
    return 1.0 + math.log10(n / unit)


class _Clip:
    """The numbers of one clipping picture: norms, radii, the ray's direction."""

    def __init__(self, theta, norm_before, norm_after):
        self.theta = theta if theta is not None and theta > 0 else None
        self.example = norm_before is None
        self.unit = self.theta if self.theta is not None else 1.0
        self.nb = 10.0 * self.unit if self.example else float(norm_before)
        if norm_after is None:
            self.na = self.nb if self.theta is None else min(self.nb, self.theta)
        else:
            self.na = float(norm_after)
        self.clipped = self.theta is not None and self.nb > self.theta
        self.rb, self.ra = clip_radius(self.nb, self.unit), clip_radius(self.na, self.unit)
        ang = math.radians(32)
        self.ux, self.uy = math.cos(ang), math.sin(ang)
        self.R = max(self.rb, 1.0)
        self.s = max(1.0, self.R / 3)               # label offsets grow with the picture


def clip_figure(theta, norm_before, norm_after=None, *, lang="en", present=False,
                sketch=False) -> go.Figure:
    """g <- min(1, theta/||g||) g as a vector pulled back onto a sphere.

    The picture (left) uses a log-ish radius: linear inside the sphere, one
    dotted ring per factor of 10 outside it, so ||g|| = 1e4 next to theta = 1
    stays drawable.  theta None (or <= 0): clipping off, no sphere, the arrow
    unchanged.  norm_before None: an illustrative gradient of 10 theta.
    """
    st = Look(lang, present, sketch)
    c = _Clip(theta, norm_before, norm_after)
    cv = Canvas(st, 0.012 * max(c.R, 2), 0.012 * max(c.R, 2))
    _rings(cv, st, c)
    _vectors(cv, st, c)
    _column(cv, st, c)
    fig = go.Figure()
    cv.apply(fig)
    pad = 0.5 * c.s
    xr = [-c.R - pad, c.R + pad]
    yr = [-c.R - pad, c.R + pad]
    st.layout(fig, st.tr("diag.title.clip"), 560 if present else 440, equal=True,
              xr=xr, yr=yr)
    fig.update_xaxes(domain=[0.0, 0.5])
    return fig


def _rings(cv: Canvas, st: Look, c: _Clip):
    """Decade rings (the log part of the scale), then the sphere of radius theta."""
    ndec = int(math.ceil(c.R - 1.0 - 1e-9)) if c.R > 1 else 0
    step = max(1, int(math.ceil(ndec / 6))) if ndec else 1
    for k in range(step, ndec + 1, step):
        r = 1.0 + k
        cv.circle(f"ring:{k}", 0, 0, r, color=st.faint, width=st.thin, dash="dot")
        lbl = ("10" if k == 1 else f"10<sup>{k}</sup>") + ("θ" if c.theta else "")
        cv.text(f"ring-label:{k}", -r * 0.7071, -r * 0.7071, lbl, size=st.small,
                color=st.muted, bg=st.paper)
    if c.theta is not None:
        cv.circle("sphere", 0, 0, 1.0, color=st.green, width=st.lw,
                  fill=S.rgba(S.GREEN, 0.10))
        cv.text("sphere-label", 0.7071 + 0.08, -0.7071 - 0.05,
                st.tr("diag.clip.sphere", theta=num(c.theta)), size=st.small,
                color=st.green, xanchor="left", yanchor="top")
    else:
        cv.circle("unit", 0, 0, 1.0, color=st.faint, width=st.thin, dash="dot")
        cv.text("unit-label", -0.7071, -0.7071, "1", size=st.small, color=st.muted,
                bg=st.paper)
    cv.text("origin", 0, 0, "•", size=st.base, color=st.ink)


def _vectors(cv: Canvas, st: Look, c: _Clip):
    """g as drawn, and when clipped: g pulled back onto the sphere, and by how much."""
    ux, uy, rb, ra, s = c.ux, c.uy, c.rb, c.ra, c.s
    glass = S.rgba(S.WHITE, 0.75)
    cv.arrow("arrow:g", 0, 0, rb * ux, rb * uy, color=st.red,
             width=st.lw + (1 if c.clipped else 0), opacity=0.55 if c.clipped else 1.0)
    key = "diag.clip.before_example" if c.example else "diag.clip.before"
    cv.text("label:before", (rb + 0.12 * s) * ux, (rb + 0.12 * s) * uy,
            st.tr(key, n=num(c.nb)), size=st.base, color=st.red, xanchor="left",
            yanchor="bottom", bg=glass)
    if not c.clipped:
        return
    cv.arrow("arrow:g_clipped", 0, 0, ra * ux, ra * uy, color=st.green,
             width=st.lw + 2)
    # the pull back, drawn beside the ray (above-left of it)
    off = 0.28 * s
    px, py = -uy * off, ux * off
    cv.arrow("arrow:pullback", rb * ux + px, rb * uy + py, 1.0 * ux + px,
             1.0 * uy + py, color=st.ink, width=st.thin + 0.5, head=2)
    mid = (rb + 1.0) / 2
    cv.text("label:factor", mid * ux + px * 1.4, mid * uy + py * 1.4,
            st.tr("diag.clip.factor", f=num(c.theta / c.nb)), size=st.small,
            color=st.ink, xanchor="right", yanchor="bottom", bg=glass)
    cv.text("label:after", ra * ux + 0.12 * s, ra * uy - 0.12 * s,
            st.tr("diag.clip.after", n=num(c.na)), size=st.base, color=st.green,
            xanchor="left", yanchor="top", bg=glass)


def _column(cv: Canvas, st: Look, c: _Clip):
    """The text on the right (paper coordinates): the rule, the verdict, notes."""
    nb, na, theta = num(c.nb), num(c.na), num(c.theta) if c.theta else None
    if c.theta is None:
        verdict, vcolor = st.tr("diag.clip.off"), st.muted
    elif c.clipped:
        verdict, vcolor = st.tr("diag.clip.cut", before=nb, theta=theta, after=na), st.green
    else:
        verdict, vcolor = st.tr("diag.clip.keep", before=nb, theta=theta), st.ink
    column = [("rule", st.tr("diag.clip.rule"), st.big, st.ink, True),
              ("verdict", verdict, st.base, vcolor, False),
              ("scale-note", st.tr("diag.clip.scale"), st.small, st.muted, False),
              ("norm-note", st.tr("diag.clip.note"), st.small, st.muted, False)]
    for (name, text, size, color, bold), yy in zip(column, [0.95, 0.75, 0.42, 0.18]):
        cv.annotations.append(dict(
            name=name, xref="paper", yref="paper", x=0.62, y=yy, xanchor="left",
            yanchor="top", showarrow=False, align="left",
            text=f"<b>{text}</b>" if bold else text,
            font=dict(size=size, color=color)))
