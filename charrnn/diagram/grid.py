"""The lane grid: its static drawing and its hover points."""
from __future__ import annotations

import plotly.graph_objects as go

from charrnn import style as S

from .canvas import Canvas, Look, sub
from .geometry import (FWD_DY, GRAD_DY, HH, HW, OH, OW, ROW_H, ROW_IN, ROW_LBL,
                       ROW_O, Geom, cell_id, hidden_text, token_text)
from .spec import DiagramSpec


def draw_grid(spec: DiagramSpec, g: Geom, st: Look, cv: Canvas):
    """Everything that does not move: frame, cells, arrows, boundaries, legend."""
    d = _Drawing(spec, g, st, cv)
    d.frame()
    d.boundaries()
    for b in range(spec.num_batches):
        for c in g.cols:
            d.column(b, c)
    for lane in g.real_lanes():
        d.lane_arrows(lane)
    legend = st.tr("diag.legend.random" if spec.random_iter else "diag.legend.seq")
    cv.text("legend", g.xr[0] + 0.1, g.legend_y, legend, size=st.small,
            color=st.muted, xanchor="left")


class _Drawing:
    def __init__(self, spec: DiagramSpec, g: Geom, st: Look, cv: Canvas):
        self.spec, self.g, self.st, self.cv = spec, g, st, cv

    def frame(self):
        """The shared parameters box, lane bands and names, headers, step numbers."""
        g, st, cv = self.g, self.st, self.cv
        cv.rect("params", g.x_first - 0.55, g.param_lo, g.x_last + 0.55, g.param_hi,
                line=st.orange, fill=st.param_fill, width=st.lw)
        cv.text("params:label", (g.x_first + g.x_last) / 2, (g.param_lo + g.param_hi) / 2,
                st.tr("diag.params.box"), size=st.base, color=st.ink)
        for lane in g.real_lanes():
            lo, hi = g.band(lane)
            cv.rect(f"lane:{lane}", g.xr[0] + 0.05, lo, g.x_last + 0.5, hi,
                    fill=st.lane_fill)
            cv.text(f"lane-label:{lane}", -1.05, g.y(lane, ROW_LBL),
                    st.tr("diag.lane", i=lane), size=st.small, color=st.muted,
                    bold=True)
        if g.more_y is not None:
            cv.text("more-lanes", (g.x_first + g.x_last) / 2, g.more_y,
                    st.tr("diag.more_lanes", n=g.hidden_lanes), size=st.base,
                    color=st.muted)
        first = g.real_lanes()[0]   # row names on the right of the first lane
        for key, row in (("diag.row.label", ROW_LBL), ("diag.row.output", ROW_O),
                         ("diag.row.hidden", ROW_H), ("diag.row.input", ROW_IN)):
            cv.text(f"row-name:{key.rsplit('.', 1)[1]}", g.x_last + 0.7,
                    g.y(first, row), st.tr(key), size=st.small, color=st.muted,
                    xanchor="left")
        for b in range(self.spec.num_batches):
            xc = (g.x(b, 0) + g.x(b, g.ncols - 1)) / 2
            cv.text(f"minibatch:{b}", xc, g.mb_row, st.tr("diag.minibatch", n=b + 1),
                    size=st.base, bold=True)
            for c in g.cols:
                label = "…" if c.ell else f"t={c.first}"
                cv.text(f"step:b{b}:c{c.j}", g.x(b, c.j), g.t_row, label,
                        size=st.small, color=st.muted)

    def boundaries(self):
        """Dashed lines between minibatches: detach (sequential) or restart (random)."""
        g, st, cv = self.g, self.st, self.cv
        for k in range(1, self.spec.num_batches):
            xb = g.boundary_x(k)
            cv.line(f"boundary:{k}", xb, g.bottom - 0.05, xb, g.mb_row + 0.25,
                    color=st.muted, width=st.thin + 0.5, dash="dash")
            if self.spec.random_iter:
                cv.text(f"restart:{k}", xb, g.mb_row, st.tr("diag.restart"),
                        size=st.small, color=st.green, bg=st.paper)
            else:
                cv.text(f"detach:{k}", xb, g.t_row, st.tr("diag.detach"),
                        size=st.small, color=st.blue, bg=st.paper)

    def column(self, b, c):
        """One time step of minibatch b: the parameter bus, then each lane's cell."""
        g, st, cv = self.g, self.st, self.cv
        x = g.x(b, c.j)
        xb = x - 0.42
        if not c.ell:
            last_lane = g.real_lanes()[-1]
            cv.line(f"param-bus:b{b}c{c.j}", xb, g.param_lo, xb,
                    g.y(last_lane, ROW_H) + HH + 0.2, color=st.orange,
                    width=st.thin, dash="dot")
        for lane in g.real_lanes():
            if c.ell:
                cv.text(f"ellipsis:lane{lane}:b{b}", x, g.y(lane, ROW_H), "…",
                        size=st.big, color=st.muted,
                        hovertext=st.tr("diag.hover.ellipsis", a=c.first, z=c.last))
            else:
                self.cell(b, lane, c.first, x, xb)

    def cell(self, b, lane, t, x, xb):
        """H_t with its input below, output and label above, and the parameters' arrow."""
        g, st, cv, spec = self.g, self.st, self.cv, self.spec
        cid = cell_id(lane, b, t)
        yH, yI, yO, yL = (g.y(lane, r) for r in (ROW_H, ROW_IN, ROW_O, ROW_LBL))
        cv.rect(f"cell:{cid}", x - HW, yH - HH, x + HW, yH + HH,
                line=st.blue, fill=st.blue_fill, width=st.lw)
        cv.text(f"cell-label:{cid}", x, yH, "H" + sub(t), size=st.small, color=st.blue)
        cv.text(f"input:{cid}", x, yI, token_text(spec, b, lane, t),
                size=st.base, bg=S.WHITE, border=st.muted, pad=1)
        cv.arrow(f"arrow:in:{cid}->{cid}", x, yI + 0.24, x, yH - HH,
                 color=st.ink, width=st.thin)
        cv.rect(f"output:{cid}", x - OW, yO - OH, x + OW, yO + OH,
                line=st.purple, fill=st.purple_fill, width=st.thin)
        cv.text(f"output-label:{cid}", x, yO, "O" + sub(t), size=st.small, color=st.purple)
        cv.arrow(f"arrow:out:{cid}->{cid}", x, yH + HH, x, yO - OH,
                 color=st.ink, width=st.thin)
        cv.text(f"label:{cid}", x, yL, token_text(spec, b, lane, t, label=True),
                size=st.base, color=st.purple)
        cv.arrow(f"arrow:label:{cid}->{cid}", x, yO + OH, x, yL - 0.2,
                 color=st.purple, width=st.thin, head=0)
        cv.arrow(f"arrow:param:{cid}", xb, yH + HH + 0.2, x - HW + 0.08, yH + HH,
                 color=st.orange, width=st.thin, head=2)

    def lane_arrows(self, lane):
        """Forward and gradient arrows inside a lane, and how each minibatch starts."""
        g, st, cv = self.g, self.st, self.cv
        yF, yG = g.y(lane, ROW_H) + FWD_DY, g.y(lane, ROW_H) + GRAD_DY
        for b in range(self.spec.num_batches):
            for c0, c1 in zip(g.cols[:-1], g.cols[1:]):
                x0 = g.x(b, c0.j) + (0.25 if c0.ell else HW)
                x1 = g.x(b, c1.j) - (0.25 if c1.ell else HW)
                src, dst = cell_id(lane, b, c0.last), cell_id(lane, b, c1.first)
                cv.arrow(f"arrow:fwd:{src}->{dst}", x0, yF, x1, yF,
                         color=st.blue, width=st.lw)
                cv.arrow(f"arrow:grad:{dst}->{src}", x1, yG, x0, yG,
                         color=st.red_faint, width=st.thin,
                         hovertext=st.tr("diag.hover.grad"))
            # where the gradient stops: the start of this minibatch
            cv.text(f"grad-stop:lane{lane}:b{b}", g.x(b, 0) - HW - 0.12, yG, "⊣",
                    size=st.small, color=st.red_faint,
                    hovertext=st.tr("diag.hover.gradstop"))
            self.entry(lane, b, yF)
        if self.spec.random_iter:
            for b in range(self.spec.num_batches):   # the final state is dropped
                xe = g.x(b, g.ncols - 1) + HW
                cv.text(f"drop:lane{lane}:b{b}", xe + 0.2, yF, "✕",
                        size=st.small, color=st.muted,
                        hovertext=st.tr("diag.hover.drop"))

    def entry(self, lane, b, yF):
        """How the state enters minibatch b: H_0 = 0, or the detached carried state."""
        g, st, cv = self.g, self.st, self.cv
        x_in = g.x(b, 0) - HW
        if b == 0:
            cv.arrow(f"h0:lane{lane}:b0", -1.05, yF, x_in, yF, color=st.green,
                     width=st.lw, text=st.tr("diag.h0"), size=st.small)
        elif self.spec.random_iter:
            cv.arrow(f"h0:lane{lane}:b{b}", g.boundary_x(b) + 0.2, yF, x_in, yF,
                     color=st.green, width=st.lw, text=st.tr("diag.h0_short"),
                     size=st.small)
        else:
            src, dst = cell_id(lane, b - 1, self.spec.num_steps), cell_id(lane, b, 1)
            x0 = g.x(b - 1, g.ncols - 1) + HW
            cv.arrow(f"arrow:fwd:{src}->{dst}", x0, yF, x_in, yF,
                     color=st.blue, width=st.lw, hovertext=st.tr("diag.hover.detach"))
            cv.text(f"detach:{b}:lane{lane}", g.boundary_x(b), yF + 0.32,
                    st.tr("diag.detach"), size=st.small, color=st.blue, bg=st.paper)


def hover_trace(spec, g: Geom, st: Look):
    xs, ys, texts = [], [], []
    for b in range(spec.num_batches):
        for c in g.cols:
            if c.ell:
                continue
            for lane in g.real_lanes():
                t = c.first
                lines = [st.tr("diag.hover.cell", lane=lane, b=b + 1, t=t),
                         st.tr("diag.hover.io", x=token_text(spec, b, lane, t),
                               y=token_text(spec, b, lane, t, label=True)),
                         st.tr("diag.hover.formula"),
                         st.tr("diag.hover.shape", B=spec.batch_size,
                               H=spec.num_hiddens)]
                h = hidden_text(spec, st, b, lane, t)
                if h:
                    lines.append(h)
                xs.append(g.x(b, c.j))
                ys.append(g.y(lane, ROW_H))
                texts.append("<br>".join(lines))
    return go.Scatter(x=xs, y=ys, mode="markers", hovertext=texts,
                      hoverinfo="text", name="cells",
                      marker=dict(size=34 if st.present else 26,
                                  color="rgba(0,0,0,0)", symbol="square"))


def grid_height(g: Geom, st: Look, extra=0):
    units = g.yr[1] - g.yr[0]
    ppu = 46 if st.present else 38
    return max(420, int(units * ppu) + (70 if st.present else 56) + 10 + extra)


def grid_base(spec: DiagramSpec, extra_height=0):
    st = Look(spec.lang, spec.present, spec.sketch)
    g = Geom(spec)
    fig = go.Figure()
    cv = Canvas(st, 0.035, 0.035)
    draw_grid(spec, g, st, cv)
    cv.apply(fig)
    key = "diag.title.grid_random" if spec.random_iter else "diag.title.grid_seq"
    st.layout(fig, st.tr(key, B=spec.batch_size, T=spec.num_steps,
                         nb=spec.num_batches),
              grid_height(g, st, extra_height), xr=list(g.xr), yr=list(g.yr))
    fig.add_trace(hover_trace(spec, g, st))
    return fig, g, st
