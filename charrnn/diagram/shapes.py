"""The shapes strip: what one forward pass computes, with the run's sizes."""
from __future__ import annotations

import plotly.graph_objects as go

from .canvas import Canvas, Look, text_px


def param_count(vocab_size, num_hiddens) -> int:
    """W_xh + W_hh + b_h + W_hq + b_q = V*H + H*H + H + H*V + V."""
    V, H = int(vocab_size), int(num_hiddens)
    return V * H + H * H + H + H * V + V


def shape_text(*dims) -> str:
    if len(dims) == 1:
        return f"({dims[0]},)"
    return "(" + ", ".join(str(d) for d in dims) + ")"


def shape_items(V, H, B, T):
    """(code label, shape, note key, group) for the strip."""
    return [
        ("X", shape_text(B, T), None, "in"),
        ("X.T", shape_text(T, B), None, "in"),
        ("one_hot(X.T, V)", shape_text(T, B, V), "diag.shapes.note.onehot", "in"),
        ("X_t", shape_text(B, V), None, "in"),
        ("W_xh", shape_text(V, H), None, "param"),
        ("H_{t-1}", shape_text(B, H), None, "state"),
        ("W_hh", shape_text(H, H), None, "param"),
        ("b_h", shape_text(H), None, "param"),
        ("H_t = tanh(X_t @ W_xh + H_{t-1} @ W_hh + b_h)", shape_text(B, H),
         "diag.shapes.note.h", "state"),
        ("W_hq", shape_text(H, V), None, "param"),
        ("b_q", shape_text(V), None, "param"),
        ("Y_t = H_t @ W_hq + b_q", shape_text(B, V), "diag.shapes.note.yt", "out"),
        ("cat(outputs, dim=0)", shape_text(T * B, V), "diag.shapes.note.cat", "out"),
        ("labels = Y.T.reshape(-1)", shape_text(T * B), None, "out"),
        ("loss = cross_entropy(...).mean()", "()", "diag.shapes.note.loss", "loss"),
        ("parameters", f"{param_count(V, H):,}", "diag.shapes.note.params", "param"),
    ]


def shape_rows(vocab_size=28, num_hiddens=512, batch_size=32, num_steps=35):
    """The shape strip as (label, shape-string) rows (d2l defaults by default)."""
    return [(label, shape) for label, shape, _, _ in
            shape_items(int(vocab_size), int(num_hiddens), int(batch_size),
                        int(num_steps))]


def shape_strip_figure(vocab_size=28, num_hiddens=512, batch_size=32, num_steps=35,
                       *, lang="en", present=False, sketch=False) -> go.Figure:
    """The shapes of one forward pass as boxes and arrows, with the run's sizes."""
    st = Look(lang, present, sketch)
    V, H, B, T = int(vocab_size), int(num_hiddens), int(batch_size), int(num_steps)
    items = {label: (shape, note, group)
             for label, shape, note, group in shape_items(V, H, B, T)}
    colors = {"in": (st.slate, st.slate_fill), "param": (st.orange, st.param_fill),
              "state": (st.blue, st.blue_fill), "out": (st.purple, st.purple_fill),
              "loss": (st.red, st.red_fill)}
    cv = Canvas(st, 2.0, 2.0)
    row_h, box_h = (118, 62) if present else (92, 48)
    x_left = 230 if present else 180

    def box(name, x, y, label, shape, group):
        w = max(text_px(label, st.small, True), text_px(shape, st.small)) + 24
        line, fill = colors[group]
        cv.rect(f"box:{name}", x, y - box_h / 2, x + w, y + box_h / 2, line=line,
                fill=fill, width=st.thin + 0.5)
        cv.text(f"box-label:{name}", x + w / 2, y + box_h * 0.2, label,
                size=st.small, color=line, bold=True)
        cv.text(f"box-shape:{name}", x + w / 2, y - box_h * 0.22, shape,
                size=st.small, color=st.ink)
        return x + w

    def op(name, x, y, text, width=None):
        w = width or (text_px(text, st.base) + 14)
        cv.text(f"op:{name}", x + w / 2, y, text, size=st.base, color=st.muted)
        return x + w

    def arrow(name, x, y, text=""):
        w = max(46, text_px(text, st.small) + 20)
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
