"""The views that teach, on constructed data: unit order, projection, the unit
finder, theta from the norms, Pascanu's cliff; and the LSTM's cell in snapshots."""
import numpy as np
import pytest

from charrnn import clipping, cliff, units
from charrnn.config import RunConfig
from charrnn.events import Snapshot
from charrnn.train import Trainer


def grouped_states(rng, groups=3, per=5, n=400):
    """Units j and k move together when j % groups == k % groups."""
    latent = rng.standard_normal((n, groups))
    width = groups * per
    states = np.stack([latent[:, j % groups] for j in range(width)], 1)
    return np.tanh(states + 0.1 * rng.standard_normal((n, width))), width


def test_unit_order_is_a_permutation_that_puts_correlated_units_together():
    states, width = grouped_states(np.random.default_rng(0))
    order = units.unit_order(states)
    assert sorted(order.tolist()) == list(range(width))
    groups = [u % 3 for u in order]
    # each group is one contiguous block: the group changes exactly twice
    assert sum(a != b for a, b in zip(groups, groups[1:])) == 2, groups


def test_unit_order_is_the_same_for_the_same_states():
    states, _ = grouped_states(np.random.default_rng(1))
    assert units.unit_order(states).tolist() == units.unit_order(states.copy()).tolist()
    order, proj = units.structure(states)   # the page's one pass gives the same
    assert order.tolist() == units.unit_order(states).tolist()
    assert np.allclose(proj.axes, units.pca(states).axes)


def test_the_projection_of_states_on_a_line_is_a_line():
    rng = np.random.default_rng(2)
    a, v = rng.standard_normal(32), rng.standard_normal(32)
    s = rng.uniform(-1, 1, 200)
    states = a + s[:, None] * v
    proj = units.pca(states)
    xy = proj(states)
    assert proj.explained[0] == pytest.approx(1.0)
    # every point on one line through the 2-D plane: the second axis carries nothing
    assert np.abs(xy[:, 1]).max() < 1e-9 * np.abs(xy[:, 0]).max()
    # and distances along it are kept (the axis is a unit vector along v)
    assert np.ptp(xy[:, 0]) == pytest.approx(np.ptp(s) * np.linalg.norm(v))


def test_the_projection_keeps_its_axes_for_new_states():
    rng = np.random.default_rng(3)
    proj = units.pca(rng.standard_normal((100, 8)))
    assert np.allclose(proj.axes @ proj.axes.T, np.eye(2))
    assert proj(np.zeros((3, 5, 8))).shape == (3, 5, 2)


def text_run(rng, n_stretches=20, length=35):
    words = ["the", "time", "traveller", "was", "a", "machine", "of", "it"]
    text = " ".join(rng.choice(words, 400))
    return [list(text[k * length:(k + 1) * length]) for k in range(n_stretches)]


def test_the_unit_finder_ranks_first_a_unit_built_to_follow_spaces():
    rng = np.random.default_rng(4)
    stretches = text_run(rng)
    H = []
    for chars in stretches:
        h = np.tanh(rng.standard_normal((len(chars), 16)))
        h[:, 7] = np.tanh(2 * np.array([c == " " for c in chars]) - 1
                          + 0.5 * rng.standard_normal(len(chars)))
        H.append(h)
    found, f = units.track(stretches, H, "space")
    assert found[0].unit == 7 and found[0].state == "H" and found[0].r > 0.7
    assert abs(found[1].r) < 0.3          # the others are noise
    assert f.sum() == sum(c.count(" ") for c in stretches)


def test_the_unit_finder_searches_an_lstm_cell_too():
    rng = np.random.default_rng(5)
    stretches = text_run(rng)
    H = [rng.standard_normal((len(c), 8)) for c in stretches]
    C = [rng.standard_normal((len(c), 8)) for c in stretches]
    for chars, c in zip(stretches, C):
        c[:, 3] = -3.0 * np.array([ch in "aeiou" for ch in chars])   # follows vowels, negatively
    found, _ = units.track(stretches, H, "vowel", C_rows=C)
    assert (found[0].state, found[0].unit) == ("C", 3) and found[0].r < -0.99


def test_a_feature_that_never_changes_is_refused():
    with pytest.raises(ValueError):
        units.track([list("no quotes here")], [np.zeros((14, 4))], "quotes")


def test_text_features_mean_what_they_say():
    assert units.feature("ab cd", "word_pos").tolist() == [1, 2, 0, 1, 2]
    assert units.feature('a"bc"d', "quotes").tolist() == [0, 1, 1, 1, 0, 0]
    assert units.feature("ab\ncd", "line_start").tolist() == [0, 0, 0, 1, 0]
    assert units.feature("Aeb", "vowel").tolist() == [1, 1, 0]
    assert units.feature("axa", "char", "a").tolist() == [1, 0, 1]


def test_saturation_counts_activations_beyond_the_threshold():
    assert units.saturation(np.array([0.0, 0.96, -0.99, 0.5])) == 0.5


def test_the_suggested_theta_is_the_mean_norm_over_the_stated_window():
    rng = np.random.default_rng(6)
    norms = rng.lognormal(0, 1, 2500)
    assert clipping.suggested_theta(norms, 1000) == pytest.approx(norms[-1000:].mean())
    assert clipping.suggested_theta(norms, 100) == pytest.approx(norms[-100:].mean())
    assert clipping.suggested_theta(norms, None) == pytest.approx(norms.mean())
    assert clipping.suggested_theta(norms[:50], 1000) == pytest.approx(norms[:50].mean())
    theta = clipping.suggested_theta(norms, 1000)
    assert clipping.clipped_share(norms, theta) == pytest.approx((norms > theta).mean())


def test_the_suggested_theta_skips_infinite_norms():
    assert clipping.suggested_theta([1.0, np.inf, 3.0], None) == 2.0
    with pytest.raises(ValueError):
        clipping.suggested_theta([np.nan], None)


def steps_of(path):
    return np.linalg.norm(np.diff(path, axis=0), axis=1)


@pytest.mark.parametrize("start", [(8.0, -5.5), (6.0, -4.0), (9.0, -5.0), (2.0, 1.0)])
def test_the_cliff_path_with_clipping_never_steps_further_than_lr_theta(start):
    theta = 20.0
    path = cliff.descend(*start, theta=theta)
    assert len(path) == 101
    assert steps_of(path).max() <= cliff.LR * theta * (1 + 1e-12)


def test_without_clipping_the_cliff_throws_gradient_descent_far():
    plain, clipped = cliff.descend(8.0, -5.5), cliff.descend(8.0, -5.5, theta=20.0)
    assert steps_of(plain).max() > 5 * steps_of(clipped).max()


def test_the_cliff_gradient_is_the_derivative_of_its_loss():
    w, b, eps = 6.0, -2.0, 1e-6
    L, g = cliff.loss_and_grad(w, b)
    dw = (cliff.loss_and_grad(w + eps, b)[0] - cliff.loss_and_grad(w - eps, b)[0]) / (2 * eps)
    db = (cliff.loss_and_grad(w, b + eps)[0] - cliff.loss_and_grad(w, b - eps)[0]) / (2 * eps)
    assert g == pytest.approx([dw, db], rel=1e-4)


@pytest.mark.parametrize("model", ["scratch", "rnn", "gru", "lstm"])
def test_snapshots_keep_what_the_unit_finder_reads(model, tmp_path):
    cfg = RunConfig(model=model, num_hiddens=16, batch_size=4, num_steps=8, max_tokens=2000,
                    num_epochs=1, snapshot_every=3).validate()
    snaps = [ev for ev in Trainer(cfg).events() if isinstance(ev, Snapshot)]
    s = snaps[-1]
    assert s.H.shape == (len(cfg.probe_lanes), 8, 16)
    if model == "lstm":
        assert s.C is not None and s.C.shape == s.H.shape
        # h = o * tanh(c): |h| never exceeds |tanh(c)|
        assert np.all(np.abs(s.H) <= np.abs(np.tanh(s.C.astype(np.float32))) + 1e-3)
    else:
        assert s.C is None
    stretches, H, C = units.text_of(snaps[-6:])
    found, _ = units.track(stretches, H, "space", C_rows=C)
    assert len(found) == 5 and {k.state for k in found} <= ({"H", "C"} if model == "lstm"
                                                            else {"H"})


def test_a_saved_lstm_run_keeps_its_cell_states(tmp_path):
    from charrnn.log import RunLog
    from charrnn.store import load_log, save_log
    cfg = RunConfig(model="lstm", num_hiddens=8, batch_size=4, num_steps=8, max_tokens=2000,
                    num_epochs=1, snapshot_every=3).validate()
    tr = Trainer(cfg)
    log = RunLog(["x"], 8)
    for ev in tr.events():
        if isinstance(ev, Snapshot):
            log.add_snapshot(ev)
    save_log(tmp_path, log)
    back = load_log(tmp_path, ["x"], 8, tr.vocab.idx_to_token)
    assert np.array_equal(back.snapshots()[-1].C, log.snapshots()[-1].C)
