"""Behaviours users rely on, pinned at their exact edges: each test fails
when the rule it names changes (a threshold, a strict or non-strict
comparison, a count, an order)."""
from __future__ import annotations

import functools
import math

import pytest
import torch

from charrnn.data import Vocab
from charrnn.events import End, Step
from charrnn.runs import Registry
from charrnn.train import DIVERGE_FACTOR, DIVERGE_STEPS, Trainer, grad_clipping
from tests import helpers
from tests.helpers import blocked_at, wait_for


small = functools.partial(helpers.small, num_hiddens=16, max_tokens=800, num_epochs=1)


# ------------------------------------------------------------------ clipping
def test_a_gradient_norm_equal_to_theta_is_not_clipped_and_just_above_is():
    g = [torch.tensor([3.0]), torch.tensor([4.0])]          # global norm 5, exactly
    norm, _ = grad_clipping([x.clone() for x in g], 5.0)
    kept = [x.clone() for x in g]
    grad_clipping(kept, 5.0)
    assert float(norm) == 5.0 and [float(x) for x in kept] == [3.0, 4.0]
    cut = [x.clone() for x in g]
    grad_clipping(cut, 4.9999)
    assert float(cut[0]) < 3.0 and math.isclose(math.hypot(*map(float, cut)), 4.9999,
                                                rel_tol=1e-6)


def first_step(theta):
    trainer = Trainer(small(theta=theta))
    for ev in trainer.events():
        if isinstance(ev, Step):
            return ev, [p.detach().clone() for p in trainer.model.params]


def test_the_trainer_flags_a_step_clipped_only_above_theta():
    free, w_free = first_step(None)
    norm = free.grad_norm
    at, w_at = first_step(norm)                     # theta == the norm: not clipped
    assert not at.clipped and at.grad_norm_clipped == norm
    assert all(torch.equal(a, b) for a, b in zip(w_at, w_free))
    above, w_above = first_step(norm * (1 - 1e-6))  # theta just below the norm: clipped
    assert above.clipped and above.grad_norm_clipped == pytest.approx(norm * (1 - 1e-6))
    assert not all(torch.equal(a, b) for a, b in zip(w_above, w_free))


# ---------------------------------------------------------------- divergence
def losses_to_events(losses, V=28):
    """Feed made-up step losses through the trainer's own bookkeeping."""
    trainer = Trainer(small())
    acc = {"loss_sum": 0.0, "n_tok": 0, "time": 0.0, "high_run": 0}
    limit = DIVERGE_FACTOR * math.log(V)
    out = []
    for step, loss in enumerate(losses, 1):
        stats = torch.tensor([loss, 1.0] + [1.0] * len(trainer.model.params), dtype=torch.float64)
        out += list(trainer._flush([(step, stats, 32, None, 0.01)], 1, acc, V, limit))
        if out and isinstance(out[-1], End):
            break
    return out


def test_divergence_needs_five_steps_in_a_row_strictly_above_ten_times_ln_v():
    assert (DIVERGE_FACTOR, DIVERGE_STEPS) == (10.0, 5)
    limit = 10.0 * math.log(28)
    above = math.nextafter(limit, math.inf)
    ends = [e for e in losses_to_events([above] * 5) if isinstance(e, End)]
    assert len(ends) == 1 and ends[0].reason["key"] == "diverge.loss_high"
    assert ends[0].reason["step"] == 5
    assert not [e for e in losses_to_events([above] * 4) if isinstance(e, End)]
    assert not [e for e in losses_to_events([limit] * 20) if isinstance(e, End)]  # at: no
    broken = [above] * 4 + [limit] + [above] * 4            # the run must be unbroken
    assert not [e for e in losses_to_events(broken) if isinstance(e, End)]


def test_a_non_finite_loss_or_norm_ends_the_run_at_once():
    ends = [e for e in losses_to_events([2.0, math.nan]) if isinstance(e, End)]
    assert [e.reason["key"] for e in ends] == ["diverge.loss_nan"] and ends[0].reason["step"] == 2


# --------------------------------------------------------------------- Step
def test_step_trains_exactly_one_minibatch_then_waits(tmp_path, mode):
    """Proof without sleeps: a blocked trainer checkpoints where it stands
    (tests.helpers.blocked_at), so it is waiting at the step it says."""
    reg = Registry(tmp_path / "runs")
    run = reg.create(small(num_epochs=2, max_tokens=-1, num_hiddens=32))   # a long epoch
    assert wait_for(lambda: run.log.num_steps_logged >= 3)
    run.pause()
    assert wait_for(lambda: blocked_at(run) is not None)
    n = run.log.num_steps_logged
    for k in (1, 2, 3):
        run.step()
        assert wait_for(lambda: blocked_at(run) == n + k), (run.log.num_steps_logged, n + k)
        assert run.status == "paused"
    run.stop()   # stopped while it waits: its log is all it trained
    run.join(20)
    assert run.status == "stopped" and run.log.num_steps_logged == n + 3
    assert list(run.log.step_columns()["step"][-4:]) == [n, n + 1, n + 2, n + 3]
    reg.stop_all()


# ---------------------------------------------------------------- the vocab
def test_equal_counts_keep_the_order_tokens_were_first_seen_as_in_d2l():
    v = Vocab([["b", "a", "c"], ["a", "b", "d", "d"]])     # a, b, d twice; c once
    assert v.idx_to_token == ["<unk>", "b", "a", "d", "c"]
    assert v.token_freqs[:3] == [("b", 2), ("a", 2), ("d", 2)]
