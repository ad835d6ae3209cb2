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


_H_T = "H_t = tanh(X_t @ W_xh + H_{t-1} @ W_hh + b_h)"
# each row of the strip, left to right: ("box", id, text, shape_items label, group),
# ("op", id, text), ("arrow", id, text or an i18n key); then its notes
_ROWS = [
    dict(title="diag.shapes.row.input", parts=[
        ("box", "X", "X", "X", "in"), ("arrow", "transpose", ".T"),
        ("box", "XT", "X.T", "X.T", "in"), ("arrow", "onehot", "one_hot"),
        ("box", "onehot", "one_hot(X.T, V)", "one_hot(X.T, V)", "in")],
        below="diag.shapes.note.onehot"),
    dict(title="diag.shapes.row.step", parts=[
        ("box", "Xt", "X_t", "X_t", "in"), ("op", "mm1", "@"),
        ("box", "Wxh", "W_xh", "W_xh", "param"), ("op", "plus1", "+"),
        ("box", "Hprev", "H", "H_{t-1}", "state"), ("op", "mm2", "@"),
        ("box", "Whh", "W_hh", "W_hh", "param"), ("op", "plus2", "+"),
        ("box", "bh", "b_h", "b_h", "param"), ("arrow", "tanh", "tanh"),
        ("box", "H", "H", _H_T, "state")],
        below="diag.shapes.note.h"),
    dict(title="diag.shapes.row.output", parts=[
        ("box", "Ht", "H", _H_T, "state"), ("op", "mm3", "@"),
        ("box", "Whq", "W_hq", "W_hq", "param"), ("op", "plus3", "+"),
        ("box", "bq", "b_q", "b_q", "param"), ("arrow", "yt", ""),
        ("box", "Yt", "Y_t", "Y_t = H_t @ W_hq + b_q", "out")],
        right=("yt", "diag.shapes.note.yt")),
    dict(title="diag.shapes.row.loss", parts=[
        ("box", "cat", "cat(outputs, dim=0)", "cat(outputs, dim=0)", "out"),
        ("op", "and", "diag.shapes.vs"),
        ("box", "labels", "Y.T.reshape(-1)", "labels = Y.T.reshape(-1)", "out"),
        ("arrow", "ce", "diag.shapes.ce"),
        ("box", "loss", "mean", "loss = cross_entropy(...).mean()", "loss")],
        right=("loss", "diag.shapes.note.loss"), below="diag.shapes.note.cat"),
]


class _Strip:
    """Boxes, operators and arrows laid out left to right on one canvas."""

    def __init__(self, st: Look, V, H, B, T):
        self.st, self.V, self.H, self.B, self.T = st, V, H, B, T
        self.shapes = {label: shape for label, shape, _, _ in shape_items(V, H, B, T)}
        self.colors = {"in": (st.slate, st.slate_fill), "param": (st.orange, st.param_fill),
                       "state": (st.blue, st.blue_fill), "out": (st.purple, st.purple_fill),
                       "loss": (st.red, st.red_fill)}
        self.cv = Canvas(st, 2.0, 2.0)
        self.row_h, self.box_h = (118, 62) if st.present else (92, 48)
        self.x_left = 230 if st.present else 180
        self.lift = 18 if st.present else 14      # a label's distance from its line

    def word(self, text, **fmt):
        """An i18n key translated; code (X.T, @, tanh) as it is."""
        return self.st.tr(text, **fmt) if text.startswith("diag.") else text

    def box(self, name, x, y, label, key, group):
        st, cv, h = self.st, self.cv, self.box_h
        shape = self.shapes[key]
        w = max(text_px(label, st.small, True), text_px(shape, st.small)) + 24
        line, fill = self.colors[group]
        cv.rect(f"box:{name}", x, y - h / 2, x + w, y + h / 2, line=line,
                fill=fill, width=st.thin + 0.5)
        cv.text(f"box-label:{name}", x + w / 2, y + h * 0.2, label,
                size=st.small, color=line, bold=True)
        cv.text(f"box-shape:{name}", x + w / 2, y - h * 0.22, shape,
                size=st.small, color=st.ink)
        return x + w

    def op(self, name, x, y, text):
        w = text_px(text, self.st.base) + 14
        self.cv.text(f"op:{name}", x + w / 2, y, text, size=self.st.base, color=self.st.muted)
        return x + w

    def arrow(self, name, x, y, text=""):
        st = self.st
        w = max(46, text_px(text, st.small) + 20)
        self.cv.arrow(f"arrow:{name}", x + 4, y, x + w - 4, y, color=st.ink,
                      width=st.thin + 0.5)
        if text:
            self.cv.text(f"arrow-label:{name}", x + w / 2, y + self.lift,
                         text, size=st.small, color=st.muted)
        return x + w

    def note(self, name, x, y, key):
        self.cv.text(f"note:{name}", x, y, self.word(key, B=self.B, T=self.T, TB=self.T * self.B),
                     size=self.st.small, color=self.st.muted, xanchor="left")

    def row(self, y, spec):
        x = self.x_left
        for kind, name, *args in spec["parts"]:
            if kind == "box":
                x = self.box(name, x, y, *args)
            else:
                x = getattr(self, kind)(name, x, y, self.word(args[0]))
        if "right" in spec:
            self.note(spec["right"][0], x + 14, y, spec["right"][1])
        if "below" in spec:
            name = spec["below"].rsplit(".", 1)[1]
            self.note(name, self.x_left, y - self.box_h / 2 - self.lift, spec["below"])

    def params(self, y):
        """The parameter count, V·H + H·H + H + H·V + V, with the run's sizes."""
        st, V, H = self.st, self.V, self.H
        formula = (f"{V}·{H} + {H}·{H} + {H} + {H}·{V} + {V} = "
                   f"<b>{param_count(V, H):,}</b>")
        self.cv.text("params:formula", self.x_left, y + 12,
                     "W_xh + W_hh + b_h + W_hq + b_q = " + formula, size=st.base,
                     color=st.orange, xanchor="left")
        self.cv.text("params:note", self.x_left, y - (22 if st.present else 17),
                     st.tr("diag.shapes.note.params"), size=st.small, color=st.muted,
                     xanchor="left")


def shape_strip_figure(vocab_size=28, num_hiddens=512, batch_size=32, num_steps=35,
                       *, lang="en", present=False, sketch=False) -> go.Figure:
    """The shapes of one forward pass as boxes and arrows, with the run's sizes."""
    st = Look(lang, present, sketch)
    V, H, B, T = int(vocab_size), int(num_hiddens), int(batch_size), int(num_steps)
    strip = _Strip(st, V, H, B, T)
    titles = [r["title"] for r in _ROWS] + ["diag.shapes.row.params"]
    ys = [-(k * strip.row_h) for k in range(len(titles))]
    for k, (key, y) in enumerate(zip(titles, ys)):
        strip.cv.text(f"row:{k}", 6, y, st.tr(key, T=T), size=st.small, color=st.ink,
                      xanchor="left", bold=True)
    for spec, y in zip(_ROWS, ys):
        strip.row(y, spec)
    strip.params(ys[-1])
    fig = go.Figure()
    strip.cv.apply(fig)
    y_lo, y_hi = ys[-1] - strip.row_h * 0.55, ys[0] + strip.row_h * 0.5
    st.layout(fig, st.tr("diag.title.shapes", B=B, T=T, V=V, H=H),
              (y_hi - y_lo) + (70 if present else 56) + 16,
              xr=[0, 1240 if present else 1160], yr=[y_lo, y_hi])
    return fig
