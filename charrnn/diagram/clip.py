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


def clip_figure(theta, norm_before, norm_after=None, *, lang="en", present=False,
                sketch=False) -> go.Figure:
    """g <- min(1, theta/||g||) g as a vector pulled back onto a sphere.

    The picture (left) uses a log-ish radius: linear inside the sphere, one
    dotted ring per factor of 10 outside it, so ||g|| = 1e4 next to theta = 1
    stays drawable.  theta None (or <= 0): clipping off, no sphere, the arrow
    unchanged.  norm_before None: an illustrative gradient of 10 theta.
    """
    st = Look(lang, present, sketch)
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
    rb, ra = clip_radius(nb, unit), clip_radius(na, unit)
    ang = math.radians(32)
    ux, uy = math.cos(ang), math.sin(ang)
    R = max(rb, 1.0)
    s = max(1.0, R / 3)               # label offsets grow with the picture
    cv = Canvas(st, 0.012 * max(R, 2), 0.012 * max(R, 2))
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
                  fill=S.rgba(S.GREEN, 0.10))
        cv.text("sphere-label", 0.7071 + 0.08, -0.7071 - 0.05,
                st.tr("diag.clip.sphere", theta=num(theta)), size=st.small,
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
            st.tr(key, n=num(nb)), size=st.base, color=st.red, xanchor="left",
            yanchor="bottom",
            bg=S.rgba(S.WHITE, 0.75))
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
                st.tr("diag.clip.factor", f=num(theta / nb)), size=st.small,
                color=st.ink, xanchor="right", yanchor="bottom",
                bg=S.rgba(S.WHITE, 0.75))
        cv.text("label:after", ra * ux + 0.12 * s, ra * uy - 0.12 * s,
                st.tr("diag.clip.after", n=num(na)), size=st.base, color=st.green,
                xanchor="left", yanchor="top", bg=S.rgba(S.WHITE, 0.75))
    # the text column on the right (paper coordinates)
    if theta is None:
        verdict, vcolor = st.tr("diag.clip.off"), st.muted
    elif clipped:
        verdict, vcolor = st.tr("diag.clip.cut", before=num(nb), theta=num(theta),
                                after=num(na)), st.green
    else:
        verdict, vcolor = st.tr("diag.clip.keep", before=num(nb),
                                theta=num(theta)), st.ink
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
