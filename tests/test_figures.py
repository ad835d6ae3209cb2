"""Behaviour of the figure builders that a user of the app would notice."""
import html
import re
import string

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from charrnn import figures as F
from charrnn.i18n import figures as S
from charrnn.i18n import t

RNG = np.random.default_rng(0)


# ------------------------------------------------------------ sample figures
def _grad_data(n=500):
    steps = np.arange(1, n + 1)
    before = np.exp(RNG.normal(0, 1, n))
    clipped = before > 1.0
    after = np.where(clipped, 1.0, before)
    return steps, before, after, clipped


def _tanh_H(num_steps=12, num_hiddens=8):
    return np.tanh(RNG.normal(0, 1.5, (num_steps, num_hiddens)))


BUILDERS = {
    "loss": (lambda **kw: F.loss_figure(np.arange(50), RNG.random(50), smooth=0.1, **kw),
             "fig.loss.title", {}),
    "perplexity": (lambda **kw: F.perplexity_figure(np.arange(5), [30, 20, 10, 5, 2], **kw),
                   "fig.ppl.title", {}),
    "grad": (lambda **kw: F.grad_norm_figure(*_grad_data(), 1.0, **kw),
             "fig.grad.title", {}),
    "hidden": (lambda **kw: F.hidden_heatmap_figure(_tanh_H(), "hello world!", **kw),
               "fig.hidden.title", {}),
    "lanes": (lambda **kw: F.lanes_figure(RNG.normal(size=(2, 4, 3)), ["abcd", "efgh"],
                                          lanes=[0, 1], **kw),
              "fig.lanes.title", {}),
    "carried": (lambda **kw: F.carried_state_figure([_tanh_H(4), _tanh_H(4)],
                                                    ["abcd", "efgh"], lane=3, **kw),
                "fig.carried.title", {"lane": 3}),
    "dh": (lambda **kw: F.dh_heatmap_figure([10, 20], [[1e-4, 1e-2], [1e-3, 1.0]], **kw),
           "fig.dh.title", {}),
    "params": (lambda **kw: F.param_norms_figure([1, 2], {"W_xh": [1, 2]}, **kw),
               "fig.params.title", {}),
    "spectral": (lambda **kw: F.spectral_figure([1, 2], [0.9, 1.1], [1.2, 1.3], **kw),
                 "fig.spectral.title", {}),
    "topk": (lambda **kw: F.topk_figure([["a", "b"], ["c", "d"]], [[0.7, 0.3], [0.6, 0.4]],
                                        generated=["a", "d"], **kw),
             "fig.topk.title", {"k": 2}),
    "compare": (lambda **kw: F.metrics_compare_figure({"run 1": ([1, 2], [3.0, 2.0])},
                                                       y_title_key="fig.ppl.y", **kw),
                "fig.compare.title", {"what": "__y__"}),
}


def _title_in(lang, key, fmt):
    fmt = {k: (t("fig.ppl.y", lang) if v == "__y__" else v) for k, v in fmt.items()}
    return t(key, lang, **fmt)


# ------------------------------------------------------------ every builder
@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_title_is_translated(name, lang):
    build, key, fmt = BUILDERS[name]
    fig = build(lang=lang)
    assert fig.layout.title.text.startswith(_title_in(lang, key, fmt))
    # the Chinese title really is Chinese, not the English fallback
    if lang == "zh":
        assert fig.layout.title.text != BUILDERS[name][0](lang="en").layout.title.text
        assert "Noto Sans CJK SC" in fig.layout.font.family


@pytest.mark.parametrize("name", BUILDERS)
def test_presentation_mode_is_bigger_everywhere(name):
    build = BUILDERS[name][0]
    normal, big = build(present=False), build(present=True)
    assert big.layout.font.size >= 20 > normal.layout.font.size
    assert big.layout.xaxis.tickfont.size > normal.layout.xaxis.tickfont.size
    assert big.layout.yaxis.tickfont.size > normal.layout.yaxis.tickfont.size
    widths = lambda f: [d.line.width for d in f.data
                        if isinstance(d, go.Scatter) and d.line.width]
    for a, b in zip(widths(normal), widths(big)):
        assert b > a


@pytest.mark.parametrize("name", BUILDERS)
def test_every_chart_carries_plotly_white_exactly(name):
    """The template is set the cheap way (base.white_template); the browser
    gets the very template `template="plotly_white"` gives."""
    import json

    import plotly.io as pio
    fig = BUILDERS[name][0]()
    def template(f):
        return json.loads(pio.to_json(f, validate=False))["layout"]["template"]
    assert template(fig) == template(go.Figure(layout=dict(template="plotly_white")))


@pytest.mark.parametrize("name", BUILDERS)
def test_uirevision_svg_only_and_serialisable(name):
    fig = BUILDERS[name][0](uirevision="run-7")
    assert fig.layout.uirevision == "run-7"
    assert fig.layout.template.layout.paper_bgcolor == "white"  # plotly_white
    assert not any(isinstance(d, go.Scattergl) for d in fig.data)
    assert 300 <= fig.layout.height <= 1200
    fig.to_json()  # object arrays (characters) must serialise
    for d in fig.data:  # numpy arrays go to plotly (compact typed arrays), not lists
        if isinstance(d, go.Scatter) and len(d.x):
            assert isinstance(d.x, np.ndarray) and isinstance(d.y, np.ndarray)


def test_builders_accept_a_run_that_has_no_data_yet():
    e = np.array([])
    figs = [
        F.loss_figure(e, e, smooth=0.1),
        F.perplexity_figure(e, e),
        F.grad_norm_figure(e, e, e, np.array([], bool), 1.0, smooth=0.1),
        F.param_norms_figure(e, {"W_xh": e}),
        F.spectral_figure(e, e, e),
        F.dh_heatmap_figure(e, np.zeros((0, 35))),
        F.metrics_compare_figure({}, y_title_key="fig.loss.y"),
    ]
    for fig in figs:
        fig.to_json()
    assert F.grad_norm_figure(e, e, e, np.array([], bool), 1.0).layout.title.subtitle.text


def test_i18n_tables_match():
    assert set(S.EN) == set(S.ZH)
    assert all(k.startswith("fig.") for k in S.EN)
    fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)
    for k in S.EN:
        assert fields(S.EN[k]) == fields(S.ZH[k]), k


# ------------------------------------------------------------ downsample
def test_downsample_short_series_untouched():
    x, y = F.downsample(np.arange(10), np.arange(10.0))
    assert np.array_equal(x, np.arange(10)) and np.array_equal(y, np.arange(10.0))


def test_downsample_keeps_spikes_ends_and_pairs():
    n = 1_000_003
    x = np.arange(n) * 2
    y = RNG.normal(0, 1, n)
    y[123_457] = 1e9
    y[777_777] = -1e9
    y[5] = np.nan
    xs, ys = F.downsample(x, y, max_points=2000)
    assert len(xs) <= 2000
    assert isinstance(xs, np.ndarray) and isinstance(ys, np.ndarray)
    assert xs[0] == x[0] and xs[-1] == x[-1]
    assert 1e9 in ys and -1e9 in ys
    assert np.all(np.diff(xs) > 0)  # still in time order
    idx = xs // 2
    assert np.array_equal(ys[1:-1], y[idx][1:-1])  # (x, y) pairs kept together
    assert not np.isnan(ys).any()  # nan never wins a bucket


def test_downsample_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        F.downsample([1, 2, 3], [1, 2])


# ------------------------------------------------------------ loss / perplexity
def test_loss_smoothed_line_is_ewm_and_raw_kept():
    y = RNG.random(300)
    fig = F.loss_figure(np.arange(300), y, smooth=0.2)
    raw, smooth = fig.data
    assert np.allclose(raw.y, y)
    assert np.allclose(smooth.y, pd.Series(y).ewm(alpha=0.2).mean())
    assert smooth.line.width > raw.line.width
    with pytest.raises(ValueError):
        F.loss_figure([1, 2], [1, 2], smooth=1.5)


def test_loss_long_series_is_downsampled():
    fig = F.loss_figure(np.arange(100_000), RNG.random(100_000))
    assert len(fig.data[0].x) <= 2000


def test_perplexity_drops_inf_and_switches_to_log():
    fig = F.perplexity_figure([1, 2, 3, 4], [np.inf, 40.0, 8.0, 2.0])
    assert list(fig.data[0].x) == [2, 3, 4]
    assert fig.layout.yaxis.type == "log"
    flat = F.perplexity_figure([1, 2, 3], [3.0, 2.5, 2.0])
    assert flat.layout.yaxis.type != "log"


# ------------------------------------------------------------ grad norm
def _by_name(fig, key, lang="en", **fmt):
    name = t(key, lang, **fmt)
    matches = [d for d in fig.data if d.name == name]
    assert matches, f"no trace named {name!r}"
    return matches[0]


def test_grad_norm_log_axis_theta_line_and_label():
    steps = _grad_data()[0]
    fig = F.grad_norm_figure(*_grad_data(), 1.0)
    assert fig.layout.yaxis.type == "log"
    line = [d for d in fig.data if d.name == "θ = 1"]
    assert len(line) == 1 and line[0].line.dash == "dash"  # in the legend, not on the curve
    assert list(line[0].y) == [1.0, 1.0] and list(line[0].x) == [steps[0], steps[-1]]


def test_log_axis_labels_read_as_numbers():
    """0.5 must read "0.5", not a bare "5" between decades."""
    steps = np.arange(1, 101)
    fig = F.grad_norm_figure(steps, np.linspace(0.12, 0.9, 100), None, None, 1.0)
    labels = list(fig.layout.yaxis.ticktext)
    assert "0.5" in labels and "0.2" in labels and "5" not in labels
    wide = F.grad_norm_figure(steps, np.logspace(-3, 3, 100), None, None, 1.0)
    assert list(wide.layout.yaxis.ticktext) == ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]


@pytest.mark.parametrize("theta", [None, 0])
def test_grad_norm_no_theta_line_when_clipping_off(theta):
    steps, before, _, _ = _grad_data()
    fig = F.grad_norm_figure(steps, before, before, np.zeros_like(steps, bool), theta)
    assert len(fig.layout.shapes) == 0
    assert fig.layout.title.subtitle.text == t("fig.grad.off")
    assert all(d.name != t("fig.grad.clipped") for d in fig.data)


def test_grad_norm_clipped_markers_exactly_at_clipped_steps():
    steps, before, after, clipped = _grad_data()
    fig = F.grad_norm_figure(steps, before, after, clipped, 1.0)
    marks = _by_name(fig, "fig.grad.clipped")
    assert marks.mode == "markers"
    assert np.array_equal(marks.x, steps[clipped])
    assert np.allclose(marks.y, before[clipped])  # on the before-curve


def test_grad_norm_before_and_after_colours_differ():
    fig = F.grad_norm_figure(*_grad_data(), 1.0)
    b = _by_name(fig, "fig.grad.before")
    a = _by_name(fig, "fig.grad.after")
    assert b.line.color != a.line.color


def test_grad_norm_drops_non_positive_values():
    steps = np.arange(6)
    before = np.array([2.0, 0.0, 3.0, -1.0, np.nan, 0.5])
    fig = F.grad_norm_figure(steps, before, before, before > 1, 1.0)
    b = _by_name(fig, "fig.grad.before")
    assert list(b.x) == [0, 2, 5]


def test_grad_norm_clip_rate_in_subtitle():
    n = 400
    clipped = np.zeros(n, bool)
    clipped[:200] = True          # 50% overall
    clipped[-100:][:25] = True    # 25 of the last 100
    steps = np.arange(n)
    before = np.where(clipped, 2.0, 0.5)
    fig = F.grad_norm_figure(steps, before, np.minimum(before, 1), clipped, 1.0)
    assert F.clip_rates(clipped) == (0.25, pytest.approx(225 / 400))
    sub = fig.layout.title.subtitle.text
    assert "25%" in sub and "56%" in sub and "400" in sub
    rate = _by_name(fig, "fig.grad.rate", window=100)
    assert rate.yaxis == "y2" and list(fig.layout.yaxis2.range) == [0, 1]


def test_grad_norm_smoothing_never_hides_a_spike():
    steps, before, after, clipped = _grad_data(20_000)
    before[9_999] = 1e5
    fig = F.grad_norm_figure(steps, before, after, clipped, 1.0, smooth=0.01)
    b = _by_name(fig, "fig.grad.before")
    env = _by_name(fig, "fig.grad.envelope", window=199)
    assert b.visible is not False and 1e5 in b.y      # raw extremes still drawn
    assert env.y.max() == 1e5
    assert all(len(d.x) <= 2000 for d in fig.data)


# ------------------------------------------------------------ hidden states
def test_hidden_heatmap_axes_colours_and_hover():
    H = _tanh_H(4, 3)
    fig = F.hidden_heatmap_figure(H, "a <b", targets=" <b!", lane=2, step=300)
    heat = fig.data[0]
    assert np.allclose(heat.z, H.T)       # y = hidden unit, x = time step
    assert (heat.zmin, heat.zmax, heat.zmid) == (-1, 1, 0)
    assert list(fig.layout.xaxis.ticktext)[:4] == ["a", "␣", "&lt;", "b"]
    assert heat.customdata is None and "%{x}" in heat.hovertemplate  # no per-cell strings
    assert "sample 2" in fig.layout.title.text and "300" in fig.layout.title.text


def test_hidden_heatmap_uses_data_range_beyond_tanh():
    H = np.maximum(0, RNG.normal(0, 1, (4, 3)))
    H[0, 0] = 3.5  # ReLU
    heat = F.hidden_heatmap_figure(H, "abcd").data[0]
    assert heat.zmax == 3.5 and heat.zmin == -3.5


def test_hidden_heatmap_rejects_wrong_character_count():
    with pytest.raises(ValueError):
        F.hidden_heatmap_figure(_tanh_H(5, 3), "abc")


def test_lanes_one_heatmap_per_lane_with_own_ticks_and_shared_colourbar():
    H = RNG.normal(0, 0.5, (3, 4, 2))
    fig = F.lanes_figure(H, ["abcd", "efgh", "ij k"], lanes=[0, 5, 9])
    assert len(fig.data) == 3
    assert {d.coloraxis for d in fig.data} == {"coloraxis"}
    assert list(fig.layout.xaxis.ticktext) == list("abcd")
    assert list(fig.layout.xaxis3.ticktext) == ["i", "j", "␣", "k"]
    assert fig.layout.xaxis.showticklabels
    assert "sample 5" in [a.text for a in fig.layout.annotations]


def test_carried_state_joined_with_boundaries():
    H = [_tanh_H(4, 3), _tanh_H(4, 3), _tanh_H(4, 3)]
    fig = F.carried_state_figure(H, ["abcd", "efgh", "ijkl"], lane=1, lang="zh")
    heat = fig.data[0]
    assert heat.z.shape == (3, 12)
    assert np.allclose(heat.z, np.concatenate(H).T)
    assert heat.customdata[2].tolist() == [1] * 4 + [2] * 4 + [3] * 4  # hover: minibatch
    lines = sorted(s.x0 for s in fig.layout.shapes)
    assert lines == [3.5, 7.5]
    assert all(s.line.dash == "dash" for s in fig.layout.shapes)
    notes = [a for a in fig.layout.annotations if a.text == S.ZH["fig.carried.boundary"]]
    assert len(notes) == 2


# ------------------------------------------------------------ gradients through time
def test_dh_heatmap_is_log10_with_decade_ticks():
    dH = np.array([[1e-3, 1e-1, 0.0], [1e-2, 1.0, 10.0]])
    fig = F.dh_heatmap_figure([100, 200], dH)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.allclose(z[:, :2], np.log10(dH[:, :2]))
    assert np.isnan(z[0, 2])  # zero cannot be on a log scale
    assert "1e-3" in fig.data[0].colorbar.ticktext
    assert list(fig.layout.yaxis.ticktext) == ["100", "200"]


# ------------------------------------------------------------ parameters
def test_param_norms_one_log_line_per_parameter():
    norms = {"W_ih": np.ones(5), "b_ih": np.full(5, 0.1), "W_hh": np.full(5, 3.0)}
    fig = F.param_norms_figure(np.arange(5), norms)
    assert [d.name for d in fig.data] == ["W_ih", "b_ih", "W_hh"]
    assert fig.layout.yaxis.type == "log"
    assert len({d.line.color for d in fig.data}) == 3


def test_spectral_has_labelled_line_at_one():
    fig = F.spectral_figure([1, 2, 3], [0.8, 1.0, 1.2], [1.1, 1.3, 1.5], lang="zh")
    assert [s.y0 for s in fig.layout.shapes] == [1.0]
    assert S.ZH["fig.spectral.one"] in [a.text for a in fig.layout.annotations]
    assert len(fig.data) == 2


# ------------------------------------------------------------ generation
def test_topk_cells_and_chosen_marks():
    chars = np.array([["t", " ", "<"], ["h", "e", "a"]])
    probs = np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]])
    fig = F.topk_figure(chars, probs, generated=[" ", "h"])
    heat, chosen = fig.data
    assert np.allclose(heat.z, probs.T)
    # text[rank][step]
    assert heat.text[1][0] == "␣" and heat.text[2][0] == "&lt;"
    assert list(chosen.x) == [0, 1] and list(chosen.y) == [2, 1]  # rank of the choice
    assert list(fig.layout.xaxis.ticktext) == ["␣", "h"]
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # rank 1 on top


def test_activation_html_escapes_and_colours():
    text = "<script>alert(1)</script>\nok"
    values = np.linspace(-1, 1, len(text))
    out = F.activation_html(text, values, unit=7)
    assert "<script" not in out and "&lt;" in out
    # without the markup, the reader sees exactly the text (newline shown as ↵)
    visible = html.unescape(re.sub(r"<[^>]+>", "", out))
    assert visible == text.replace("\n", "↵")
    assert out.count("<span") == len(text)
    assert "<br>" in out
    spans = re.findall(r'<span style="background-color:([^;]+);[^"]*" title="([^"]+)">',
                       out)
    assert spans[0] == ("rgb(33,102,172)", "h[7] = -1.000")     # blue negative
    assert spans[-1] == ("rgb(178,24,43)", "h[7] = +1.000")     # red positive
    mid = F.activation_html("x", [0.0])
    assert "rgb(255,255,255)" in mid
    with pytest.raises(ValueError):
        F.activation_html("ab", [0.1])


def test_activation_html_escapes_quotes_in_characters():
    out = F.activation_html('"&\'', [0.1, 0.2, 0.3])
    assert "&quot;" in out and "&amp;" in out and "&#x27;" in out


# ------------------------------------------------------------ compare
def test_compare_one_line_per_run_and_log_drops_non_positive():
    series = {"lr=1": ([1, 2, 3], [5.0, 0.0, 2.0]), "lr=0.1": ([1, 2, 3], [6.0, 5.0, 4.0])}
    fig = F.metrics_compare_figure(series, y_title_key="fig.ppl.y", log_y=True)
    assert [d.name for d in fig.data] == ["lr=1", "lr=0.1"]
    assert list(fig.data[0].x) == [1, 3]
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == t("fig.ppl.y")
