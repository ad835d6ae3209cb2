"""predict_ch8 drawn: warm-up over the prefix, then greedy argmax fed back."""
from __future__ import annotations

import html

import plotly.graph_objects as go

from charrnn import style as S

from .canvas import Canvas, Look, char, pt, sub
from .geometry import HH, HW


IN, MID, OUT = 0.0, 1.15, 2.3      # rows: input, state, output
TOP = OUT + 0.75                   # the section headers


def _columns(prefix, generated, max_cols):
    """The cells as (kind, input char, output char or None, step number).

    Warm-up keeps its 2 first and 2 last when there is not room for all; the
    predictions keep their head and a "more" column."""
    warm = [("warm", prefix[k], None, k + 1) for k in range(len(prefix) - 1)]
    ins = prefix[-1] + generated[:-1] if generated else ""
    pred = [("pred", ins[k], generated[k], len(warm) + k + 1)
            for k in range(len(generated))]
    if len(warm) + len(pred) > max_cols and len(warm) > 5:
        warm_cols = warm[:2] + [("ell", None, None, None)] + warm[-2:]
    else:
        warm_cols = list(warm)
    room = max(3, max_cols - len(warm_cols))
    if len(pred) > room:
        pred_cols = pred[:room - 1] + [("more", None, None, len(pred) - room + 1)]
    else:
        pred_cols = list(pred)
    return warm_cols, pred_cols, len(warm)


def prediction_strip_figure(prefix, generated, *, num_hiddens=512, lang="en",
                            present=False, sketch=False, max_cols=None) -> go.Figure:
    """predict_ch8 drawn: batch 1, state (1, H); the prefix only warms the
    state up, then each greedy argmax is fed back as the next input.

    `generated` is the predicted text after the prefix (not including it).
    """
    st = Look(lang, present, sketch)
    prefix, generated = str(prefix), str(generated)
    if not prefix:
        raise ValueError("prefix must be at least one character")
    warm_cols, pred_cols, n_warm = _columns(prefix, generated,
                                            max_cols or (15 if present else 19))
    cols = warm_cols + pred_cols
    cv = Canvas(st, 0.03, 0.03)
    yF = MID + 0.05
    cv.arrow("h0", -1.0, yF, -HW, yF, color=st.green, width=st.lw,
             text=st.tr("diag.h0"), size=st.small)
    cv.text("state-shape", -0.95, MID - 0.55, st.tr("diag.predict.state", H=num_hiddens),
            size=st.small, color=st.muted)
    for k in range(len(cols)):
        _column(cv, st, cols, k)
    _sections(cv, st, len(warm_cols), len(cols), n_warm, len(generated))
    fig = go.Figure()
    cv.apply(fig)
    xr = [-1.7, len(cols) - 0.4 + (0.9 if cols and cols[-1][0] == "more" else 0)]
    yr = [IN - 0.7, TOP + 0.45]
    st.layout(fig, st.tr("diag.title.predict", prefix=html.escape(prefix.strip())),
              (yr[1] - yr[0]) * (62 if present else 50) + (70 if present else 56) + 10,
              xr=xr, yr=yr)
    return fig


def _column(cv: Canvas, st: Look, cols, k):
    """Column k (at x = k): a cell with its input (and output when predicting),
    or a summary; then the state's arrow to the next column."""
    kind, cin, cout, step = cols[k]
    x, yF = float(k), MID + 0.05
    if kind == "ell":
        cv.text(f"ellipsis:{k}", x, MID, "…", size=st.base, color=st.muted)
    elif kind == "more":
        cv.text(f"ellipsis:{k}", x - 0.22, MID, st.tr("diag.predict.more", n=step),
                size=st.small, color=st.muted, xanchor="left")
    else:
        cv.rect(f"cell:{k}", x - HW, MID - HH, x + HW, MID + HH, line=st.blue,
                fill=st.blue_fill, width=st.lw)
        cv.text(f"cell-label:{k}", x, MID, "H" + sub(step), size=st.small, color=st.blue)
        fed_back = kind == "pred" and k > 0 and cols[k - 1][0] == "pred"
        cv.text(f"input:{k}", x, IN, char(cin), size=st.base,
                bg=S.WHITE, border=st.green if fed_back else st.muted, pad=2)
        cv.arrow(f"arrow:in:{k}", x, IN + 0.26, x, MID - HH, color=st.ink, width=st.thin)
        if kind == "pred":
            _prediction(cv, st, cols, k, cout)
    if k + 1 < len(cols):
        x0 = x + (0.25 if kind in ("ell", "more") else HW)
        x1 = k + 1 - (0.25 if cols[k + 1][0] in ("ell", "more") else HW)
        cv.arrow(f"arrow:state:{k}->{k + 1}", x0, yF, x1, yF, color=st.blue, width=st.lw)


def _prediction(cv: Canvas, st: Look, cols, k, cout):
    """The argmax above cell k, curving back as the next column's input."""
    x = float(k)
    cv.arrow(f"arrow:out:{k}", x, MID + HH, x, OUT - 0.26, color=st.ink, width=st.thin)
    cv.text(f"output:{k}", x, OUT, char(cout), size=st.base,
            color=st.purple, bg=st.purple_fill, border=st.purple, pad=2)
    if k + 1 >= len(cols) or cols[k + 1][0] != "pred":
        return
    x0, y0 = x + 0.2, OUT
    x1, y1 = x + 0.6, IN + 0.05
    d = f"M {pt(x0, y0)} C {pt(x + 0.62, OUT)} {pt(x + 0.38, IN + 0.05)} {pt(x1, y1)}"
    cv.path(f"feedback:{k}", d, color=st.green, width=st.thin + 0.5)
    cv.arrow(f"arrow:feedback:{k}->{k + 1}", x1 - 0.02, y1, k + 1 - 0.2, IN,
             color=st.green, width=st.thin + 0.5)


def _sections(cv: Canvas, st: Look, n_w, n_cols, n_warm, n_generated):
    """Shaded bands with headers: the warm-up, then the greedy predictions."""
    if n_w:
        cv.rect("section:warmup", -0.45, IN - 0.45, n_w - 1 + 0.45, TOP - 0.25,
                fill=st.lane_fill)
        cv.text("header:warmup", (n_w - 1) / 2, TOP,
                st.tr("diag.predict.warmup", n=n_warm), size=st.small,
                color=st.muted, bold=True)
    if n_cols > n_w:
        cv.rect("section:predict", n_w - 0.45, IN - 0.45, n_cols - 1 + 0.45,
                TOP - 0.25, fill=S.rgba(S.GREEN, 0.07))
        cv.text("header:predict", (n_w + n_cols - 1) / 2, TOP,
                st.tr("diag.predict.greedy", n=n_generated), size=st.small,
                color=st.green, bold=True)
