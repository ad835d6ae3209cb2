"""What lights up in each phase: nine traces whose data change from frame to frame."""
from __future__ import annotations

import plotly.graph_objects as go

from charrnn import style as S

from .canvas import Look, jitter_rng
from .geometry import FWD_DY, GRAD_DY, HH, HW, OH, OW, ROW_H, ROW_IN, ROW_LBL, ROW_O, Geom
from .spec import DiagramSpec

ELL_HW = 0.25   # half width of a "..." column


def wobble(points, name, st: Look, wx=0.03, wy=0.03):
    """Polylines (None-separated) made slightly wobbly for the sketch style."""
    if not st.sketch:
        return points
    xs, ys = points
    r = jitter_rng(name)
    out_x, out_y = [], []
    for x, y in zip(xs, ys):
        if x is None:
            out_x.append(None)
            out_y.append(None)
            continue
        j = r.uniform(-0.6, 0.6, 2)
        out_x.append(x + j[0] * wx)
        out_y.append(y + j[1] * wy)
    return out_x, out_y


class _Lines:
    """A None-separated polyline: boxes and segments drawn as one trace."""

    def __init__(self):
        self.x, self.y = [], []

    def box(self, x0, y0, x1, y1):
        self.x += [x0, x1, x1, x0, x0, None]
        self.y += [y0, y0, y1, y1, y0, None]

    def seg(self, x0, y0, x1, y1):
        self.x += [x0, x1, None]
        self.y += [y0, y1, None]


class Highlight:
    """The lit parts of the grid for one phase of the active minibatch."""

    def __init__(self, spec: DiagramSpec, g: Geom, st: Look):
        self.spec, self.g, self.st = spec, g, st
        self.a = spec.active_batch
        self.real = g.real_lanes()
        names = ("cells", "current", "fwd", "grad", "gradcells", "outputs", "params")
        self.lit = {n: _Lines() for n in names}
        self.tx, self.ty, self.txt = [], [], []
        self.par_color = st.param_fill

    # -- geometry of the active minibatch
    def _half(self, c):
        return ELL_HW if c.ell else HW

    def _label(self, x, y, text):
        self.tx.append(x)
        self.ty.append(y)
        self.txt.append(text)

    def cells_upto(self, tmax, pad=0.06):
        for c in self.g.cols:
            if c.first > tmax:
                continue
            for lane in self.real:
                x, y = self.g.x(self.a, c.j), self.g.y(lane, ROW_H)
                if c.ell:
                    self.lit["cells"].box(x - ELL_HW, y - HH, x + ELL_HW, y + HH)
                else:
                    self.lit["cells"].box(x - HW - pad, y - HH - pad, x + HW + pad,
                                          y + HH + pad)

    def fwd_upto(self, tmax):
        g, a, fwd = self.g, self.a, self.lit["fwd"]
        for lane in self.real:
            y = g.y(lane, ROW_H) + FWD_DY
            if a == 0 or self.spec.random_iter:
                fwd.seg(-0.5 if a == 0 else g.boundary_x(a) + 0.2, y, g.x(a, 0) - HW, y)
            else:
                fwd.seg(g.x(a - 1, g.ncols - 1) + HW, y, g.x(a, 0) - HW, y)
            for c0, c1 in zip(g.cols[:-1], g.cols[1:]):
                if c1.first > tmax:
                    break
                fwd.seg(g.x(a, c0.j) + self._half(c0), y, g.x(a, c1.j) - self._half(c1), y)

    def grads_downto(self, tmin):
        g, a = self.g, self.a
        for lane in self.real:
            y = g.y(lane, ROW_H) + GRAD_DY
            for c0, c1 in zip(g.cols[:-1], g.cols[1:]):
                if c0.last >= tmin:
                    self.lit["grad"].seg(g.x(a, c1.j) - self._half(c1), y,
                                         g.x(a, c0.j) + self._half(c0), y)
        for c in g.cols:
            if c.last < tmin:
                continue
            for lane in self.real:
                x, y, hw = g.x(a, c.j), g.y(lane, ROW_H), self._half(c)
                self.lit["gradcells"].box(x - hw, y - HH, x + hw, y + HH)

    def outputs(self, cols):
        for c in cols:
            if c.ell:
                continue
            for lane in self.real:
                x = self.g.x(self.a, c.j)
                yO, yL = self.g.y(lane, ROW_O), self.g.y(lane, ROW_LBL)
                self.lit["outputs"].box(x - OW - 0.05, yO - OH - 0.05, x + OW + 0.05,
                                        yL + 0.22)

    def _step_label(self, col, t):
        """A summarised "..." column names the step it stands for, in the tag row
        above its "…" (just under it, the two overlapped at 1080p)."""
        self._label(self.g.x(self.a, col.j), self.g.tag_row, f"t={t}")

    # -- the phases
    def forward(self, t):
        g, a = self.g, self.a
        self.cells_upto(t)
        self.fwd_upto(t)
        col = g.col_of_step(t)
        for lane in self.real:
            x, yH, hw = g.x(a, col.j), g.y(lane, ROW_H), self._half(col)
            self.lit["current"].box(x - hw - 0.1, g.y(lane, ROW_IN) - 0.3, x + hw + 0.1,
                                    yH + HH + 0.1)
            if not col.ell:
                self.lit["fwd"].seg(x, g.y(lane, ROW_IN) + 0.24, x, yH - HH)
                self.lit["fwd"].seg(x, yH + HH, x, g.y(lane, ROW_O) - OH)
        if col.ell:
            self._step_label(col, t)
        self.outputs([col])

    def loss(self):
        g, T = self.g, self.spec.num_steps
        self.cells_upto(T)
        self.fwd_upto(T)
        self.outputs(g.cols)
        xc = (g.x(self.a, 0) + g.x(self.a, g.ncols - 1)) / 2
        self._label(xc, g.tag_row,
                    self.st.tr("diag.loss_tag", n=T * self.spec.batch_size))

    def backward(self, t):
        g, a, T = self.g, self.a, self.spec.num_steps
        self.cells_upto(T)
        self.grads_downto(t)
        col = g.col_of_step(t)
        for lane in self.real:
            x, yH, hw = g.x(a, col.j), g.y(lane, ROW_H), self._half(col)
            self.lit["current"].box(x - hw - 0.1, yH - HH - 0.1, x + hw + 0.1,
                                    g.y(lane, ROW_O) + OH + 0.1)
            if t < T:   # the arrow just taken carries one more W_hh^T
                nxt = g.col_of_step(t + 1)
                self._label((x + g.x(a, nxt.j)) / 2, yH - 0.6, self.st.tr("diag.times_whh"))
            if t == 1:
                self._label(g.x(a, 0) - HW - 0.55, yH - 0.6, self.st.tr("diag.stop"))
        if col.ell and t < T:
            self._step_label(col, t)

    def params(self, kind):
        g = self.g
        self.cells_upto(self.spec.num_steps)
        self.grads_downto(1)
        self.lit["params"].box(g.x_first - 0.55, g.param_lo, g.x_last + 0.55, g.param_hi)
        self.par_color = S.rgba(S.ORANGE, 0.35) if kind == "clip" else S.rgba(S.GREEN, 0.30)
        self._label(g.x_last + 0.55, g.param_hi + 0.02,
                    self.st.tr("diag.clip_tag" if kind == "clip" else "diag.update_tag"))

    def next(self):
        g, a, nb = self.g, self.a, self.a + 1
        if nb >= self.spec.num_batches:
            return
        for lane in self.real:
            y = g.y(lane, ROW_H) + FWD_DY
            x0 = g.boundary_x(nb) + 0.2 if self.spec.random_iter else g.x(a, g.ncols - 1) + HW
            self.lit["fwd"].seg(x0, y, g.x(nb, 0) - HW, y)
            x = g.x(nb, 0)
            self.lit["current"].box(x - HW - 0.1, y - HH - 0.18, x + HW + 0.1, y + HH + 0.02)

    def light(self, phase):
        kind, t = phase["kind"], phase["t"]
        if kind in ("forward", "backward"):
            getattr(self, kind)(t)
        elif kind in ("clip", "update"):
            self.params(kind)
        elif kind in ("loss", "next"):
            getattr(self, kind)()

    # -- the traces
    def _xy(self, name, sketchy=None):
        lines = self.lit[name]
        return wobble((lines.x, lines.y), sketchy, self.st) if sketchy else (lines.x, lines.y)

    def traces(self, caption):
        st, g = self.st, self.g
        fill = dict(mode="lines", fill="toself", hoverinfo="skip")
        plain = dict(mode="lines", hoverinfo="skip")

        def lit(name, label, kw, **style):
            x, y = self._xy(name, label)
            return go.Scatter(x=x, y=y, name=f"lit:{name}", **kw, **style)

        return [
            lit("cells", "lit-cells", fill, line=dict(color=st.blue, width=st.lw + 1),
                fillcolor=S.rgba(S.BLUE, 0.35)),
            lit("current", None, plain,
                line=dict(color=st.orange, width=st.lw + 1, dash="dot")),
            lit("fwd", "lit-fwd", plain, line=dict(color=S.rgba(S.BLUE, 0.45), width=st.hl)),
            lit("grad", "lit-grad", plain,
                line=dict(color=S.rgba(S.VERMILLION, 0.55), width=st.hl)),
            lit("gradcells", None, fill, line=dict(color=st.red, width=st.lw + 1),
                fillcolor=S.rgba(S.VERMILLION, 0.22)),
            lit("outputs", None, fill, line=dict(color=st.purple, width=st.lw),
                fillcolor=S.rgba(S.PURPLE, 0.22)),
            lit("params", None, fill, line=dict(color=st.orange, width=st.lw + 1),
                fillcolor=self.par_color),
            go.Scatter(x=self.tx, y=self.ty, name="lit:text", mode="text", text=self.txt,
                       hoverinfo="skip", textposition="middle center",
                       textfont=dict(size=st.small, color=st.red, family=st.family)),
            go.Scatter(x=[g.xr[0] + 0.1], y=[g.caption_y], name="caption", mode="text",
                       text=[f"<b>{caption}</b>"], hoverinfo="skip",
                       textposition="middle right",
                       textfont=dict(size=st.base, color=st.ink, family=st.family)),
        ]


def phase_traces(spec: DiagramSpec, g: Geom, st: Look, phase):
    """The traces that change from phase to phase (always the same 9)."""
    hl = Highlight(spec, g, st)
    if phase is None:
        return hl.traces(st.tr("diag.caption.static"))
    hl.light(phase)
    return hl.traces(phase["caption"])
