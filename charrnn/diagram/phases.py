"""One training iteration, phase by phase, and the highlight traces of each phase."""
from __future__ import annotations

import plotly.graph_objects as go

from charrnn import style as S

from .canvas import Look, jitter_rng, num, sub
from .geometry import FWD_DY, GRAD_DY, HH, HW, OH, OW, ROW_H, ROW_IN, ROW_LBL, ROW_O, Geom
from .spec import DiagramSpec

PHASE_KINDS = ("forward", "loss", "backward", "clip", "update", "next")


def phases(spec: DiagramSpec):
    """One training iteration, in order: T forward ticks, loss, T backward
    ticks (right to left, this minibatch only), clip, update, next.

    Each phase is a dict: index, kind (one of PHASE_KINDS), t (the time
    step, for forward/backward), batch (the minibatch trained), label (short,
    for a slider), caption (one sentence in spec.lang).
    """
    st = Look(spec.lang, spec.present, spec.sketch)
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
            p["caption"] = st.tr(key, t=t, k=T - t, ts=sub(t))
        elif kind == "clip":
            p["label"] = st.tr("diag.slider.clip")
            p["caption"] = clip_caption(spec, st)
        elif kind == "update":
            p["label"] = st.tr("diag.slider.update")
            p["caption"] = st.tr("diag.phase.update")
        else:
            p["label"] = st.tr("diag.slider.next")
            if a + 1 >= spec.num_batches:
                key = "diag.phase.next_random_end" if spec.random_iter else "diag.phase.next_seq_end"
            else:
                key = "diag.phase.next_random" if spec.random_iter else "diag.phase.next_seq"
            p["caption"] = st.tr(key, Ts=sub(T), n=a + 2)
    return out


def clip_caption(spec, st):
    th, nb, na = spec.theta, spec.grad_norm_before, spec.grad_norm_after
    if th is None:
        if nb is None:
            return st.tr("diag.phase.clip_off")
        return st.tr("diag.phase.clip_off_norm", before=num(nb))
    if nb is None:
        return st.tr("diag.phase.clip", theta=num(th))
    if na is None:
        na = min(nb, th)
    if nb > th:
        return st.tr("diag.phase.clip_cut", before=num(nb), after=num(na),
                     theta=num(th), factor=num(th / nb))
    return st.tr("diag.phase.clip_keep", before=num(nb), theta=num(th))


def wobble(points, name, st, g_wx, g_wy):
    """Polylines (None-separated) made slightly wobbly for the sketch style."""
    if not st.sketch:
        return points
    xs, ys = points
    r = jitter_rng(name)
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


def box_path(xs, ys, x0, y0, x1, y1):
    xs += [x0, x1, x1, x0, x0, None]
    ys += [y0, y0, y1, y1, y0, None]


def seg_path(xs, ys, x0, y0, x1, y1):
    xs += [x0, x1, None]
    ys += [y0, y1, None]


def phase_traces(spec, g: Geom, st: Look, phase):
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
                x, y = g.x(a, c.j), g.y(lane, ROW_H)
                if c.ell:
                    box_path(xs, ys, x - 0.25, y - HH, x + 0.25, y + HH)
                else:
                    box_path(xs, ys, x - HW - pad, y - HH - pad, x + HW + pad,
                         y + HH + pad)

    def fwd_upto(tmax):
        for lane in real:
            y = g.y(lane, ROW_H) + FWD_DY
            if a == 0 or spec.random_iter:
                seg_path(fwd_x, fwd_y, -0.5 if a == 0 else g.boundary_x(a) + 0.2, y,
                     g.x(a, 0) - HW, y)
            else:
                seg_path(fwd_x, fwd_y, g.x(a - 1, g.ncols - 1) + HW, y,
                     g.x(a, 0) - HW, y)
            for c0, c1 in zip(g.cols[:-1], g.cols[1:]):
                if c1.first > tmax:
                    break
                seg_path(fwd_x, fwd_y, g.x(a, c0.j) + (0.25 if c0.ell else HW), y,
                     g.x(a, c1.j) - (0.25 if c1.ell else HW), y)

    def grads_downto(tmin):
        for lane in real:
            y = g.y(lane, ROW_H) + GRAD_DY
            for c0, c1 in zip(g.cols[:-1], g.cols[1:]):
                if c0.last >= tmin:
                    seg_path(grad_x, grad_y, g.x(a, c1.j) - (0.25 if c1.ell else HW), y,
                         g.x(a, c0.j) + (0.25 if c0.ell else HW), y)
        for c in g.cols:
            if c.last < tmin:
                continue
            for lane in real:
                x, y = g.x(a, c.j), g.y(lane, ROW_H)
                hw = 0.25 if c.ell else HW
                box_path(gcell_x, gcell_y, x - hw, y - HH, x + hw, y + HH)

    def outputs(cols):
        for c in cols:
            if c.ell:
                continue
            for lane in real:
                x = g.x(a, c.j)
                yO, yL = g.y(lane, ROW_O), g.y(lane, ROW_LBL)
                box_path(out_x, out_y, x - OW - 0.05, yO - OH - 0.05,
                     x + OW + 0.05, yL + 0.22)

    if kind == "forward":
        cells_upto(t, cells_x, cells_y)
        fwd_upto(t)
        col = g.col_of_step(t)
        for lane in real:
            x, yH = g.x(a, col.j), g.y(lane, ROW_H)
            hw = 0.25 if col.ell else HW
            box_path(cur_x, cur_y, x - hw - 0.1, g.y(lane, ROW_IN) - 0.3, x + hw + 0.1,
                 yH + HH + 0.1)
            if not col.ell:
                seg_path(fwd_x, fwd_y, x, g.y(lane, ROW_IN) + 0.24, x, yH - HH)
                seg_path(fwd_x, fwd_y, x, yH + HH, x, g.y(lane, ROW_O) - OH)
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
            x, yH = g.x(a, col.j), g.y(lane, ROW_H)
            hw = 0.25 if col.ell else HW
            box_path(cur_x, cur_y, x - hw - 0.1, yH - HH - 0.1, x + hw + 0.1,
                 g.y(lane, ROW_O) + OH + 0.1)
            if t < T:
                # the arrow just taken carries one more W_hh^T
                nxt = g.col_of_step(t + 1)
                txt_x.append((g.x(a, col.j) + g.x(a, nxt.j)) / 2)
                txt_y.append(yH - 0.6)
                txt.append(st.tr("diag.times_whh"))
            if t == 1:
                txt_x.append(g.x(a, 0) - HW - 0.55)
                txt_y.append(yH - 0.6)
                txt.append(st.tr("diag.stop"))
        if col.ell and t < T:
            txt_x.append(g.x(a, col.j))
            txt_y.append(g.t_row - 0.28)
            txt.append(f"t={t}")
    elif kind in ("clip", "update"):
        cells_upto(T, cells_x, cells_y)
        grads_downto(1)
        box_path(par_x, par_y, g.x_first - 0.55, g.param_lo, g.x_last + 0.55, g.param_hi)
        par_color = S.rgba(S.ORANGE, 0.35) if kind == "clip" else S.rgba(S.GREEN, 0.30)
        txt_x.append(g.x_last + 0.55)
        txt_y.append(g.param_hi + 0.02)
        txt.append(st.tr("diag.clip_tag" if kind == "clip" else "diag.update_tag"))
    elif kind == "next":
        nb = a + 1
        if nb < spec.num_batches:
            for lane in real:
                y = g.y(lane, ROW_H) + FWD_DY
                if spec.random_iter:
                    seg_path(fwd_x, fwd_y, g.boundary_x(nb) + 0.2, y, g.x(nb, 0) - HW, y)
                else:
                    seg_path(fwd_x, fwd_y, g.x(a, g.ncols - 1) + HW, y,
                         g.x(nb, 0) - HW, y)
                x = g.x(nb, 0)
                box_path(cur_x, cur_y, x - HW - 0.1, y - HH - 0.18, x + HW + 0.1,
                     y + HH + 0.02)

    wx, wy = 0.03, 0.03
    cells_x, cells_y = wobble((cells_x, cells_y), "lit-cells", st, wx, wy)
    fwd_x, fwd_y = wobble((fwd_x, fwd_y), "lit-fwd", st, wx, wy)
    grad_x, grad_y = wobble((grad_x, grad_y), "lit-grad", st, wx, wy)
    fill = dict(mode="lines", fill="toself", hoverinfo="skip")
    traces = [
        go.Scatter(x=cells_x, y=cells_y, name="lit:cells", **fill,
                   line=dict(color=st.blue, width=st.lw + 1),
                   fillcolor=S.rgba(S.BLUE, 0.35)),
        go.Scatter(x=cur_x, y=cur_y, name="lit:current", mode="lines",
                   hoverinfo="skip",
                   line=dict(color=st.orange, width=st.lw + 1, dash="dot")),
        go.Scatter(x=fwd_x, y=fwd_y, name="lit:fwd", mode="lines", hoverinfo="skip",
                   line=dict(color=S.rgba(S.BLUE, 0.45), width=st.hl)),
        go.Scatter(x=grad_x, y=grad_y, name="lit:grad", mode="lines",
                   hoverinfo="skip",
                   line=dict(color=S.rgba(S.VERMILLION, 0.55), width=st.hl)),
        go.Scatter(x=gcell_x, y=gcell_y, name="lit:gradcells", **fill,
                   line=dict(color=st.red, width=st.lw + 1),
                   fillcolor=S.rgba(S.VERMILLION, 0.22)),
        go.Scatter(x=out_x, y=out_y, name="lit:outputs", **fill,
                   line=dict(color=st.purple, width=st.lw),
                   fillcolor=S.rgba(S.PURPLE, 0.22)),
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
