"""Content of the unrolled-RNN diagram (charrnn/diagram/, DIAGRAM.md).

The builders name every shape and annotation (e.g. "arrow:fwd:lane0:b0t3->
lane0:b0t4", "h0:lane1:b0", "boundary:1"); these tests read the names and the
coordinates, so a diagram that draws the wrong thing fails here.
"""
import json
import re
import string

import numpy as np
import pytest

from charrnn import diagram as D
from charrnn.i18n import diagram as S
from charrnn.i18n import t

CJK = re.compile(r"[\u4e00-\u9fff]")
ARROW = re.compile(r"^arrow:(\w+):lane(\d+):b(\d+)t(\d+)->lane(\d+):b(\d+)t(\d+)$")


# ------------------------------------------------------------------ helpers
def anns(fig):
    return {a.name: a for a in fig.layout.annotations if a.name}


def shapes(fig):
    return {s.name: s for s in fig.layout.shapes if s.name}


def lane_arrows(fig, kind=None):
    """Arrows that name both ends: (kind, lane0, b0, t0, lane1, b1, t1, ann)."""
    out = []
    for a in fig.layout.annotations:
        m = ARROW.match(a.name or "")
        if m and (kind is None or m.group(1) == kind):
            k, l0, b0, t0, l1, b1, t1 = m.groups()
            out.append((k, int(l0), int(b0), int(t0), int(l1), int(b1), int(t1), a))
    return out


def lane_band(fig, lane):
    s = shapes(fig)[f"lane:{lane}"]
    return min(s.y0, s.y1), max(s.y0, s.y1)


def visible_lanes(fig):
    return sorted(int(n.split(":")[1]) for n in shapes(fig) if n.startswith("lane:"))


def trace(fig, name):
    found = [tr for tr in fig.data if tr.name == name]
    assert len(found) == 1, name
    return found[0]


def polygons(xs):
    """Number of None-separated pieces in a trace's x."""
    xs = list(xs or [])
    return sum(1 for k, v in enumerate(xs) if v is not None and (k + 1 == len(xs) or xs[k + 1] is None))


def segments(tr):
    xs, ys = list(tr.x or []), list(tr.y or [])
    out, cur = [], []
    for x, y in zip(xs + [None], ys + [None]):
        if x is None:
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append((x, y))
    return out


def cell_x(fig, lane, b, t):
    s = shapes(fig)[f"cell:lane{lane}:b{b}t{t}"]
    return (s.x0 + s.x1) / 2


SPECS = {
    "small-seq": lambda: D.example_spec(),
    "small-random": lambda: D.example_spec(random_iter=True, seed=3),
    "big-seq": lambda: D.DiagramSpec(batch_size=32, num_steps=35, vocab_size=28),
    "big-random": lambda: D.DiagramSpec(batch_size=32, num_steps=35, random_iter=True),
    "odd": lambda: D.DiagramSpec(batch_size=3, num_steps=7, num_batches=2),
}


# ------------------------------------------------------------ small example
def test_small_example_equals_d2l_printout():
    X = D.small_example()
    assert X.shape == (3, 2, 5)
    assert X.tolist() == [
        [[2, 3, 4, 5, 6], [18, 19, 20, 21, 22]],
        [[7, 8, 9, 10, 11], [23, 24, 25, 26, 27]],
        [[12, 13, 14, 15, 16], [28, 29, 30, 31, 32]],
    ]
    spec = D.example_spec()
    assert np.array_equal(spec.labels, X + 1)


def test_small_example_random_is_d2l_style():
    X = D.small_example(random_iter=True, seed=0)
    assert X.shape == (3, 2, 5)
    assert np.array_equal(X, D.small_example(random_iter=True, seed=0))
    rows = X.reshape(-1, 5)
    # every subsequence is 5 consecutive tokens of 0..34 ...
    assert np.all(np.diff(rows, axis=1) == 1)
    assert rows.min() >= 0 and rows.max() <= 33
    # ... they never overlap and start at a common offset < num_steps
    starts = sorted(rows[:, 0].tolist())
    assert np.all(np.diff(starts) % 5 == 0) and starts[0] < 5
    assert len(set(starts)) == 6
    # shuffled: not simply in order (for this seed), and seeds differ
    assert starts != rows[:, 0].tolist()
    others = [D.small_example(random_iter=True, seed=s).tolist() for s in range(1, 6)]
    assert any(o != X.tolist() for o in others)
    _, Y = D.partition_tokens(range(35), 2, 5, random_iter=True, seed=0, num_batches=3)
    assert np.array_equal(Y, X + 1)


def test_grid_shows_the_printout_numbers():
    spec = D.example_spec()
    fig = D.grid_figure(spec)
    a = anns(fig)
    X = D.small_example()
    for b in range(3):
        for lane in range(2):
            for s in range(5):
                cid = f"lane{lane}:b{b}t{s + 1}"
                assert a[f"input:{cid}"].text == str(X[b, lane, s])
                assert a[f"label:{cid}"].text == str(X[b, lane, s] + 1)


def test_grid_shows_characters_when_chosen():
    X = D.small_example()
    alphabet = string.ascii_lowercase + " .,!?;:'-"
    chars = np.vectorize(lambda i: alphabet[i])(X).astype(object)
    spec = D.example_spec(chars=chars, show_chars=True)
    a = anns(D.grid_figure(spec))
    assert a["input:lane0:b0t1"].text == "c"           # token 2
    assert a["input:lane1:b1t4"].text == "␣"           # token 26 is a space
    assert a["label:lane0:b0t1"].text == "d"           # next char in the lane
    assert a["label:lane0:b0t5"].text == "h"           # continues in minibatch 2
    # numbers again when not chosen
    a = anns(D.grid_figure(D.example_spec(chars=chars, show_chars=False)))
    assert a["input:lane0:b0t1"].text == "2"


# ------------------------------------------------------------------- shapes
def test_shape_strip_d2l_defaults():
    rows = D.shape_rows(28, 512, 32, 35)
    d = dict(rows)
    assert d["X"] == "(32, 35)"
    assert d["X.T"] == "(35, 32)"
    assert d["one_hot(X.T, V)"] == "(35, 32, 28)"
    assert d["X_t"] == "(32, 28)"
    assert d["W_xh"] == "(28, 512)"
    assert d["W_hh"] == "(512, 512)"
    assert d["b_h"] == "(512,)"
    assert d["W_hq"] == "(512, 28)"
    assert d["b_q"] == "(28,)"
    assert d["Y_t = H_t @ W_hq + b_q"] == "(32, 28)"
    assert d["cat(outputs, dim=0)"] == "(1120, 28)"
    assert d["labels = Y.T.reshape(-1)"] == "(1120,)"
    assert d["loss = cross_entropy(...).mean()"] == "()"
    assert d["parameters"] == "291,356"
    assert D.param_count(28, 512) == 291_356
    assert D.param_count(35, 4) == 35 * 4 + 16 + 4 + 4 * 35 + 35


def test_shape_strip_figure_uses_the_run_sizes():
    fig = D.shape_strip_figure(28, 512, 32, 35)
    texts = " ".join(a.text for a in fig.layout.annotations)
    for s in ("(32, 35)", "(35, 32, 28)", "(1120, 28)", "(1120,)", "291,356",
              "(512, 512)"):
        assert s in texts
    fig = D.shape_strip_figure(40, 64, 8, 10)
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "(80, 40)" in texts and f"{D.param_count(40, 64):,}" in texts
    assert "(1120, 28)" not in texts


# --------------------------------------------------------------- the lanes
@pytest.mark.parametrize("key", sorted(SPECS))
def test_no_arrow_connects_two_lanes(key):
    fig = D.grid_figure(SPECS[key]())
    arrows = lane_arrows(fig)
    assert arrows
    kinds = {k for k, *_ in arrows}
    assert {"fwd", "grad", "in", "out", "label"} <= kinds
    bands = {i: lane_band(fig, i) for i in visible_lanes(fig)}
    for kind, l0, b0, t0, l1, b1, t1, a in arrows:
        assert l0 == l1, a.name
        lo, hi = bands[l0]
        for x, y in ((a.x, a.y), (a.ax, a.ay)):
            assert lo <= y <= hi, a.name
        if kind in ("fwd", "grad"):
            assert a.y == pytest.approx(a.ay), a.name      # horizontal
    # every other drawn arrow with a lane in its name stays in that lane
    for a in fig.layout.annotations:
        lanes = set(re.findall(r"lane(\d+)", a.name or ""))
        assert len(lanes) <= 1, a.name
        if lanes and a.showarrow:
            lo, hi = bands[int(lanes.pop())]
            assert lo <= a.y <= hi and lo <= a.ay <= hi, a.name
    # the lane bands themselves never overlap
    ordered = sorted(bands.values())
    for (lo0, hi0), (lo1, hi1) in zip(ordered, ordered[1:]):
        assert hi0 < lo1


@pytest.mark.parametrize("key", sorted(SPECS))
def test_h0_enters_every_lane_from_the_left(key):
    spec = SPECS[key]()
    fig = D.grid_figure(spec)
    a = anns(fig)
    lanes = visible_lanes(fig)
    assert lanes[0] == 0 and lanes[-1] == spec.batch_size - 1
    for lane in lanes:
        h0 = a[f"h0:lane{lane}:b0"]
        assert h0.showarrow and h0.ax < h0.x
        first = shapes(fig)[f"cell:lane{lane}:b0t1"]
        assert h0.x == pytest.approx(min(first.x0, first.x1))
        lo, hi = lane_band(fig, lane)
        assert lo <= h0.y <= hi and h0.y == pytest.approx(h0.ay)
        assert t("diag.h0", "en") in h0.text
        # nothing of this lane lies left of the H_0 arrow
        for name, s in shapes(fig).items():
            if name.startswith(f"cell:lane{lane}:"):
                assert min(s.x0, s.x1) >= h0.x - 1e-9


def test_shared_parameters_feed_every_cell():
    spec = D.example_spec()
    fig = D.grid_figure(spec)
    a = anns(fig)
    box = shapes(fig)["params"]
    for b in range(3):
        for lane in range(2):
            for s in range(1, 6):
                arr = a[f"arrow:param:lane{lane}:b{b}t{s}"]
                assert arr.arrowwidth <= 1.5                       # thin
                cell = shapes(fig)[f"cell:lane{lane}:b{b}t{s}"]
                assert cell.x0 <= arr.x <= cell.x1
                bus = shapes(fig)[f"param-bus:b{b}c{s - 1}"]
                assert bus.x0 == pytest.approx(arr.ax)
                assert max(bus.y0, bus.y1) == pytest.approx(min(box.y0, box.y1))
    label = a["params:label"].text
    for p in ("W_xh", "W_hh", "b_h", "W_hq", "b_q"):
        assert p in label


@pytest.mark.parametrize("key", ["small-seq", "big-seq", "odd"])
def test_sequential_state_crosses_boundary_detached_gradient_does_not(key):
    spec = SPECS[key]()
    fig = D.grid_figure(spec)
    a, sh = anns(fig), shapes(fig)
    T = spec.num_steps
    lanes = visible_lanes(fig)
    assert f"boundary:{spec.num_batches}" not in sh
    for k in range(1, spec.num_batches):
        xb = sh[f"boundary:{k}"].x0
        assert sh[f"boundary:{k}"].line.dash == "dash"
        assert f"detach:{k}" in a
        assert t("diag.detach", "en") in a[f"detach:{k}"].text
        for lane in lanes:
            fwd = a[f"arrow:fwd:lane{lane}:b{k - 1}t{T}->lane{lane}:b{k}t1"]
            assert fwd.ax < xb < fwd.x
            assert f"detach:{k}:lane{lane}" in a
            assert f"h0:lane{lane}:b{k}" not in a             # no restart
        for kind, *_, ann in lane_arrows(fig, "grad"):
            assert not (min(ann.x, ann.ax) < xb < max(ann.x, ann.ax)), ann.name
    # gradient arrows run right to left, inside one minibatch, one step at a time
    for kind, l0, b0, t0, l1, b1, t1, ann in lane_arrows(fig, "grad"):
        assert b0 == b1 and t1 < t0 and ann.x < ann.ax
    for kind, l0, b0, t0, l1, b1, t1, ann in lane_arrows(fig, "fwd"):
        assert ann.ax < ann.x
        assert (b0 == b1 and t0 < t1) or (b1 == b0 + 1 and t0 == T and t1 == 1)


@pytest.mark.parametrize("key", ["small-random", "big-random"])
def test_random_lanes_restart_from_zeros_at_each_boundary(key):
    spec = SPECS[key]()
    fig = D.grid_figure(spec)
    a, sh = anns(fig), shapes(fig)
    lanes = visible_lanes(fig)
    for k in range(1, spec.num_batches):
        xb = sh[f"boundary:{k}"].x0
        assert f"restart:{k}" in a and f"detach:{k}" not in a
        for kind, *_, ann in lane_arrows(fig):
            assert not (min(ann.x, ann.ax) < xb < max(ann.x, ann.ax)), ann.name
        for lane in lanes:
            h0 = a[f"h0:lane{lane}:b{k}"]
            assert xb < h0.ax < h0.x
            assert h0.x == pytest.approx(cell_x(fig, lane, k, 1) - 0.28)
            assert h0.text == t("diag.h0_short", "en")
    for kind, l0, b0, t0, l1, b1, t1, ann in lane_arrows(fig, "fwd"):
        assert b0 == b1


def test_large_config_is_summarised():
    spec = D.DiagramSpec(batch_size=32, num_steps=35)
    fig = D.grid_figure(spec)
    a = anns(fig)
    assert visible_lanes(fig) == [0, 1, 31]
    assert "29" in a["more-lanes"].text
    steps = [a[f"step:b0:c{j}"].text for j in range(5)]
    assert steps == ["t=1", "t=2", "t=3", "…", "t=35"]
    assert "cell:lane0:b0t35" in shapes(fig) and "cell:lane0:b0t10" not in shapes(fig)
    # the arrows around "..." name the real steps they join
    assert "arrow:fwd:lane31:b0t3->lane31:b0t4" in a
    assert "arrow:fwd:lane31:b0t34->lane31:b0t35" in a
    assert "arrow:grad:lane31:b0t35->lane31:b0t34" in a
    assert len(fig.layout.annotations) < 900                     # stays light


def test_hidden_values_on_hover():
    spec = D.example_spec(hidden=np.full((2, 5), 0.25))
    fig = D.grid_figure(spec)
    hover = list(trace(fig, "cells").hovertext)
    assert len(hover) == 2 * 5 * 3
    assert sum("0.25" in h for h in hover) == 10                 # active batch only
    units = D.example_spec(hidden=np.arange(2 * 5 * 3).reshape(2, 5, 3) / 10)
    hover = " ".join(trace(D.grid_figure(units), "cells").hovertext)
    assert "+0.100" in hover and "+2.900" in hover


def test_spec_rejects_wrong_token_shape():
    with pytest.raises(ValueError):
        D.DiagramSpec(batch_size=2, num_steps=5, num_batches=3,
                      tokens=np.zeros((3, 5, 2), dtype=int))


# ---------------------------------------------------------------- animation
@pytest.mark.parametrize("T,random_iter", [(5, False), (35, True), (1, False)])
def test_phase_order(T, random_iter):
    spec = D.DiagramSpec(batch_size=2, num_steps=T, random_iter=random_iter)
    ph = D.phases(spec)
    kinds = [p["kind"] for p in ph]
    assert kinds == ["forward"] * T + ["loss"] + ["backward"] * T + [
        "clip", "update", "next"]
    assert [p["t"] for p in ph[:T]] == list(range(1, T + 1))
    assert [p["t"] for p in ph[T + 1:2 * T + 1]] == list(range(T, 0, -1))
    assert [p["index"] for p in ph] == list(range(2 * T + 4))
    assert all(p["caption"] for p in ph)
    nxt = ph[-1]["caption"]
    if random_iter:
        assert "H₀ = 0" in nxt
    else:
        assert "detach" in nxt
    zh = D.phases(D.DiagramSpec(batch_size=2, num_steps=T, lang="zh"))
    assert all(CJK.search(p["caption"]) for p in zh)


def test_animated_figure_frames_slider_and_buttons():
    spec = D.example_spec()
    ph = D.phases(spec)
    fig = D.animated_figure(spec, duration_ms=450)
    assert len(fig.frames) == len(ph) == 14
    assert [f.name for f in fig.frames] == [str(k) for k in range(14)]
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == 14
    assert [s.args[0][0] for s in slider.steps] == [f.name for f in fig.frames]
    assert all(s.method == "animate" for s in slider.steps)
    buttons = fig.layout.updatemenus[0].buttons
    play, pause = buttons[0], buttons[1]
    assert play.args[0] is None and play.args[1]["frame"]["duration"] == 450
    assert play.args[1]["frame"]["redraw"] is True
    assert list(pause.args[0]) == [None]
    # frames replace the same traces the figure starts with
    for fr in fig.frames:
        assert len(fr.data) == len(fr.traces)
        assert [fig.data[i].name for i in fr.traces] == [d.name for d in fr.data]
        assert fr.data[-1].name == "caption"
        assert ph[int(fr.name)]["caption"] in fr.data[-1].text[0]


def test_frames_light_one_token_per_lane_per_tick_and_stop_at_boundary():
    spec = D.example_spec(active_batch=1)
    fig = D.animated_figure(spec)
    base = D.grid_figure(spec)
    xb_left = shapes(base)["boundary:1"].x0
    xb_right = shapes(base)["boundary:2"].x0
    T, lanes = 5, 2
    names = [d.name for d in fig.frames[0].data]
    cells = names.index("lit:cells")
    grads = names.index("lit:grad")
    for k, fr in enumerate(fig.frames[:T]):
        assert polygons(fr.data[cells].x) == lanes * (k + 1)
        assert not fr.data[grads].x
    # backward: grows right to left, stays inside minibatch 2
    counts = []
    for fr in fig.frames[T + 1:2 * T + 1]:
        segs = segments(fr.data[grads])
        counts.append(len(segs))
        for seg in segs:
            xs = [p[0] for p in seg]
            assert xb_left < min(xs) and max(xs) < xb_right
            assert seg[0][0] > seg[-1][0]                        # right to left
    assert counts == [0, 2, 4, 6, 8]                             # W_hh^T: 0..4 times
    last_back = fig.frames[2 * T]
    assert t("diag.times_whh", "en") in last_back.data[names.index("lit:text")].text
    # the grid with phase=k is the same picture as frame k
    g = D.grid_figure(spec, phase=3)
    assert list(trace(g, "lit:cells").x) == list(fig.frames[3].data[cells].x)


def test_next_phase_sequential_vs_random():
    seq = D.animated_figure(D.example_spec())
    rnd = D.animated_figure(D.example_spec(random_iter=True))
    xb = shapes(seq)["boundary:1"].x0
    names = [d.name for d in seq.frames[0].data]
    fwd = names.index("lit:fwd")
    crosses = [s for s in segments(seq.frames[-1].data[fwd])
               if min(p[0] for p in s) < xb < max(p[0] for p in s)]
    assert len(crosses) == 2                                     # one per lane
    crosses = [s for s in segments(rnd.frames[-1].data[fwd])
               if min(p[0] for p in s) < xb < max(p[0] for p in s)]
    assert not crosses
    assert segments(rnd.frames[-1].data[fwd])                   # H0 of minibatch 2


# ----------------------------------------------------------------- clipping
def test_clip_pulls_back_onto_the_sphere():
    fig = D.clip_figure(1.0, 1e4)
    a, sh = anns(fig), shapes(fig)
    sphere = sh["sphere"]
    assert sphere.x1 - sphere.x0 == pytest.approx(2.0)          # radius theta = 1
    g, gc = a["arrow:g"], a["arrow:g_clipped"]
    rg = np.hypot(g.x - g.ax, g.y - g.ay)
    rc = np.hypot(gc.x - gc.ax, gc.y - gc.ay)
    assert rc == pytest.approx(1.0)                             # on the sphere
    assert rg == pytest.approx(5.0)                             # 1 + log10(1e4)
    assert g.x * gc.y - g.y * gc.x == pytest.approx(0, abs=1e-9)
    texts = " ".join(x.text for x in fig.layout.annotations)
    assert "10,000" in texts and "1.00e-04" in texts
    assert t("diag.clip.scale", "en") in texts
    assert any(n.startswith("ring:") for n in sh)


def test_clip_keeps_small_gradients_and_draws_nothing_when_off():
    fig = D.clip_figure(1.0, 0.4)
    a = anns(fig)
    assert "arrow:g_clipped" not in a
    g = a["arrow:g"]
    assert np.hypot(g.x, g.y) == pytest.approx(0.4)
    assert a["verdict"].text == t("diag.clip.keep", "en", before="0.4", theta="1")
    off = D.clip_figure(None, 37.0)
    assert "sphere" not in shapes(off)
    assert "arrow:g_clipped" not in anns(off)
    assert anns(off)["verdict"].text == t("diag.clip.off", "en")
    # theta 0 means off as well; numbers from a live run are shown as given
    assert "sphere" not in shapes(D.clip_figure(0, 3.0))
    live = D.clip_figure(2.0, 8.0, 1.999, lang="zh")
    assert "1.999" in anns(live)["label:after"].text


# --------------------------------------------------------------- prediction
def test_prediction_strip_warmup_then_feedback():
    prefix, gen = "time traveller ", "the time"
    fig = D.prediction_strip_figure(prefix, gen, max_cols=40)
    a = anns(fig)
    n_warm = len(prefix) - 1
    for k in range(n_warm):
        assert a[f"input:{k}"].text == D._char(prefix[k])
        assert f"output:{k}" not in a and f"arrow:out:{k}" not in a
    for j, ch in enumerate(gen):
        k = n_warm + j
        assert a[f"output:{k}"].text == D._char(ch)
        if j + 1 < len(gen):
            assert f"arrow:feedback:{k}->{k + 1}" in a
            assert a[f"input:{k + 1}"].text == D._char(ch)     # fed back
    assert a[f"input:{n_warm}"].text == D._char(prefix[-1])
    fb = [n for n in a if n.startswith("arrow:feedback:")]
    assert len(fb) == len(gen) - 1
    assert "512" in a["state-shape"].text
    # long outputs are summarised but keep warm-up and feedback
    long = anns(D.prediction_strip_figure(prefix, "x" * 50))
    assert any(n.startswith("ellipsis:") for n in long)
    assert len([n for n in long if n.startswith("arrow:state:")]) < 25


# ------------------------------------------------------------ translations
def test_i18n_tables_match():
    assert set(S.EN) == set(S.ZH)
    assert all(k.startswith("diag.") for k in S.EN)
    ph = re.compile(r"\{(\w+)\}")
    for k in S.EN:
        assert set(ph.findall(S.EN[k])) == set(ph.findall(S.ZH[k])), k
        assert S.ZH[k].strip(), k


@pytest.mark.parametrize("build", [
    lambda lang: D.grid_figure(D.example_spec(lang=lang)),
    lambda lang: D.grid_figure(D.example_spec(lang=lang, random_iter=True)),
    lambda lang: D.animated_figure(D.example_spec(lang=lang)),
    lambda lang: D.shape_strip_figure(lang=lang),
    lambda lang: D.clip_figure(1.0, 5.0, lang=lang),
    lambda lang: D.prediction_strip_figure("time traveller ", "the", lang=lang),
])
def test_titles_are_translated(build):
    en, zh = build("en").layout.title.text, build("zh").layout.title.text
    assert en and zh and en != zh
    assert CJK.search(zh) and not CJK.search(en)


def test_chinese_grid_has_chinese_labels():
    fig = D.animated_figure(D.example_spec(lang="zh"))
    a = anns(fig)
    for name in ("params:label", "minibatch:0", "lane-label:0", "legend",
                 "row-name:hidden"):
        assert CJK.search(a[name].text), name
    assert CJK.search(fig.layout.updatemenus[0].buttons[0].label)


# ------------------------------------------------------- projector / sketch
def _font_sizes(fig):
    sizes = [fig.layout.font.size]
    for a in fig.layout.annotations:
        if a.text:
            sizes.append(a.font.size or fig.layout.font.size)
    for tr in fig.data:
        if tr.mode and "text" in tr.mode:
            sizes.append(tr.textfont.size)
    return sizes


@pytest.mark.parametrize("build", [
    lambda: D.animated_figure(D.DiagramSpec(batch_size=32, num_steps=35, present=True)),
    lambda: D.grid_figure(D.example_spec(present=True, lang="zh"), phase=8),
    lambda: D.shape_strip_figure(present=True),
    lambda: D.clip_figure(1.0, 1e4, present=True),
    lambda: D.prediction_strip_figure("time traveller ", "the time", present=True),
])
def test_present_mode_fonts_are_large(build):
    fig = build()
    assert min(_font_sizes(fig)) >= 18
    assert fig.layout.title.font.size >= 24


def test_sketch_style_draws_the_same_content_wobbly_and_deterministic():
    clean = D.grid_figure(D.example_spec())
    sketch = D.grid_figure(D.example_spec(sketch=True))
    assert {a.name for a in clean.layout.annotations} == {
        a.name for a in sketch.layout.annotations}
    names = {s.name for s in sketch.layout.shapes}
    assert {s.name for s in clean.layout.shapes} <= names
    paths = [s for s in sketch.layout.shapes if s.type == "path"]
    assert any(s.name.startswith("cell:") for s in paths)
    assert "Comic" in sketch.layout.font.family
    assert "Comic" not in clean.layout.font.family
    again = D.grid_figure(D.example_spec(sketch=True))
    assert json.dumps(sketch.to_plotly_json(), sort_keys=True, default=str) == \
        json.dumps(again.to_plotly_json(), sort_keys=True, default=str)
    # wobbly: the arrows are no longer exactly horizontal
    fwd = [a for a in sketch.layout.annotations if a.name.startswith("arrow:fwd:")]
    assert any(abs(a.y - a.ay) > 1e-6 for a in fwd)
