"""The lane grid: its static drawing and its hover points."""
from __future__ import annotations

import plotly.graph_objects as go

from charrnn import style as S

from .canvas import Canvas, Look, sub
from .geometry import (FWD_DY, GRAD_DY, HH, HW, OH, OW, ROW_H, ROW_IN, ROW_LBL,
                       ROW_O, Geom, cell_id, hidden_text, token_text)
from .spec import DiagramSpec


def draw_grid(spec: DiagramSpec, g: Geom, st: Look, cv: Canvas):
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
        cv.text(f"lane-label:{lane}", -1.05, g.y(lane, ROW_LBL),
                st.tr("diag.lane", i=lane), size=st.small, color=st.muted,
                bold=True)
    if g.more_y is not None:
        cv.text("more-lanes", (g.x_first + g.x_last) / 2, g.more_y,
                st.tr("diag.more_lanes", n=g.hidden_lanes), size=st.base,
                color=st.muted)
    # row names on the right of the first lane
    first = real[0]
    for key, row in (("diag.row.label", ROW_LBL), ("diag.row.output", ROW_O),
                     ("diag.row.hidden", ROW_H), ("diag.row.input", ROW_IN)):
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
                        g.y(last_lane, ROW_H) + HH + 0.2, color=st.orange,
                        width=st.thin, dash="dot")
            for lane in real:
                yH = g.y(lane, ROW_H)
                if c.ell:
                    cv.text(f"ellipsis:lane{lane}:b{b}", x, yH, "…",
                            size=st.big, color=st.muted,
                            hovertext=st.tr("diag.hover.ellipsis", a=c.first,
                                            z=c.last))
                    continue
                t = c.first
                cid = cell_id(lane, b, t)
                cv.rect(f"cell:{cid}", x - HW, yH - HH, x + HW, yH + HH,
                        line=st.blue, fill=st.blue_fill, width=st.lw)
                cv.text(f"cell-label:{cid}", x, yH, "H" + sub(t),
                        size=st.small, color=st.blue)
                # input token -> cell
                yI = g.y(lane, ROW_IN)
                cv.text(f"input:{cid}", x, yI, token_text(spec, b, lane, t),
                        size=st.base, bg=S.WHITE, border=st.muted, pad=1)
                cv.arrow(f"arrow:in:{cid}->{cid}", x, yI + 0.24, x, yH - HH,
                         color=st.ink, width=st.thin)
                # cell -> output
                yO = g.y(lane, ROW_O)
                cv.rect(f"output:{cid}", x - OW, yO - OH, x + OW, yO + OH,
                        line=st.purple, fill=st.purple_fill, width=st.thin)
                cv.text(f"output-label:{cid}", x, yO, "O" + sub(t),
                        size=st.small, color=st.purple)
                cv.arrow(f"arrow:out:{cid}->{cid}", x, yH + HH, x, yO - OH,
                         color=st.ink, width=st.thin)
                # output vs label (next token)
                yL = g.y(lane, ROW_LBL)
                cv.text(f"label:{cid}", x, yL, token_text(spec, b, lane, t, label=True),
                        size=st.base, color=st.purple)
                cv.arrow(f"arrow:label:{cid}->{cid}", x, yO + OH, x, yL - 0.2,
                         color=st.purple, width=st.thin, head=0)
                # shared parameters -> this cell
                cv.arrow(f"arrow:param:{cid}", xb, yH + HH + 0.2,
                         x - HW + 0.08, yH + HH, color=st.orange,
                         width=st.thin, head=2)
    # horizontal arrows, inside a lane only
    for lane in real:
        yF, yG = g.y(lane, ROW_H) + FWD_DY, g.y(lane, ROW_H) + GRAD_DY
        for b in range(NB):
            for c0, c1 in zip(cols[:-1], cols[1:]):
                x0 = g.x(b, c0.j) + (0.25 if c0.ell else HW)
                x1 = g.x(b, c1.j) - (0.25 if c1.ell else HW)
                src, dst = cell_id(lane, b, c0.last), cell_id(lane, b, c1.first)
                cv.arrow(f"arrow:fwd:{src}->{dst}", x0, yF, x1, yF,
                         color=st.blue, width=st.lw)
                gsrc, gdst = cell_id(lane, b, c1.first), cell_id(lane, b, c0.last)
                cv.arrow(f"arrow:grad:{gsrc}->{gdst}", x1, yG, x0, yG,
                         color=st.red_faint, width=st.thin,
                         hovertext=st.tr("diag.hover.grad"))
            # where the gradient stops: the start of this minibatch
            xs = g.x(b, 0) - HW
            cv.text(f"grad-stop:lane{lane}:b{b}", xs - 0.12, yG, "⊣",
                    size=st.small, color=st.red_faint,
                    hovertext=st.tr("diag.hover.gradstop"))
            # how the state enters this minibatch
            x_in = g.x(b, 0) - HW
            if b == 0:
                cv.arrow(f"h0:lane{lane}:b0", -1.05, yF, x_in, yF, color=st.green,
                         width=st.lw, text=st.tr("diag.h0"), size=st.small)
            elif spec.random_iter:
                cv.arrow(f"h0:lane{lane}:b{b}", g.boundary_x(b) + 0.2, yF, x_in, yF,
                         color=st.green, width=st.lw, text=st.tr("diag.h0_short"),
                         size=st.small)
            else:
                src = cell_id(lane, b - 1, spec.num_steps)
                dst = cell_id(lane, b, 1)
                x0 = g.x(b - 1, g.ncols - 1) + HW
                cv.arrow(f"arrow:fwd:{src}->{dst}", x0, yF, x_in, yF,
                         color=st.blue, width=st.lw,
                         hovertext=st.tr("diag.hover.detach"))
                cv.text(f"detach:{b}:lane{lane}", g.boundary_x(b), yF + 0.32,
                        st.tr("diag.detach"), size=st.small, color=st.blue,
                        bg=st.paper)
        if spec.random_iter:
            # the state at the end of a random minibatch is dropped
            for b in range(NB):
                xe = g.x(b, g.ncols - 1) + HW
                cv.text(f"drop:lane{lane}:b{b}", xe + 0.2, yF, "✕",
                        size=st.small, color=st.muted,
                        hovertext=st.tr("diag.hover.drop"))
    # legend line
    legend = st.tr("diag.legend.random" if spec.random_iter else "diag.legend.seq")
    cv.text("legend", g.xr[0] + 0.1, g.legend_y, legend, size=st.small,
            color=st.muted, xanchor="left")


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
