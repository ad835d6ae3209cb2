"""What the live charts send to each browser (charrnn/ui/live_plot.py)."""
import numpy as np
import plotly.io as pio

from charrnn import figures as F
from charrnn.ui import live_plot
from tests.charts import array


def sent(fig) -> dict:
    return live_plot.figure_of(live_plot.payload(fig, {}, "failed"))


def grad_figure(before):
    steps = np.arange(1, len(before) + 1, dtype=np.float32)
    before = np.asarray(before, dtype=float)
    after = np.minimum(before, 1.0)
    return F.grad_norm_figure(steps, before, after, before > 1, 1.0)


def test_charts_travel_as_float32_with_the_values_a_browser_draws():
    """A lecture hall's 100 watchers each receive every chart about every
    1.5 s: float64 coordinates were half of each chart's bytes."""
    rng = np.random.default_rng(1)
    before = np.exp(rng.normal(0, 1, 1500))
    fig = grad_figure(before)
    got = sent(fig)["data"][0]
    assert got["y"]["dtype"] == "f4"
    assert np.array_equal(array(got["y"]), fig.data[0].y.astype(np.float32))
    assert np.array_equal(array(got["x"]), fig.data[0].x)
    assert len(live_plot.payload(fig, {}, "")) < 0.8 * len(pio.to_json(fig, validate=False))


def test_a_diverged_norm_keeps_its_float64_so_the_spike_stays_on_the_chart():
    """1e40 is inf in float32 and 1e-50 is 0: a log axis would drop both,
    and the explosion is the point of the lesson."""
    for extreme in (1e40, 1e-50):
        before = np.array([0.5, 2.0, extreme, 3.0])
        fig = grad_figure(before)
        got = sent(fig)["data"][0]
        assert got["y"]["dtype"] == "f8" and extreme in array(got["y"])
