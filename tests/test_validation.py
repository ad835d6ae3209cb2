"""Validation perplexity: the held-out text, its value, its cost to d2l's run."""
import math

import pytest
import torch
from torch.nn import functional as F

from charrnn import data
from charrnn.config import ConfigError, RunConfig
from charrnn.events import Epoch
from charrnn.train import Trainer

SMALL = dict(num_hiddens=32, batch_size=4, num_steps=8, max_tokens=2000, num_epochs=2,
             device="cpu", seed=3)


def test_the_book_validates_on_the_tokens_after_d2ls_slice():
    book = data.load_corpus("timemachine", "d2l", -1)
    trainer = Trainer(RunConfig(**SMALL).validate())
    assert trainer.split.source == "after"
    assert trainer.split.train == book.corpus[:2000]   # training untouched
    # a twentieth of what an epoch trains on is measured: cheap enough to leave on
    assert trainer.split.val == book.corpus[2000:2100]
    d2l = data.validation_split(data.load_corpus("timemachine", "d2l", 10000), 35, 0.1)
    assert d2l.source == "after" and d2l.val == book.corpus[10000:10500]


def test_a_text_without_more_tokens_holds_out_its_tail():
    cfg = RunConfig(**{**SMALL, "max_tokens": -1, "val_fraction": 0.25}, corpus="text",
                    text="a stitch in time saves nine " * 40).validate()
    trainer = Trainer(cfg)
    n = trainer.corpus.num_tokens
    assert trainer.split.source == "tail"
    assert len(trainer.split.train) == n - round(0.25 * n)     # the tail is held out
    assert trainer.corpus.corpus[len(trainer.split.train):][:len(trainer.split.val)] \
        == trainer.split.val
    off = Trainer(RunConfig(**{**SMALL, "max_tokens": -1, "val_fraction": 0}, corpus="text",
                            text=cfg.text).validate())
    assert off.split.source == "none" and math.isnan(off.val_perplexity())


def direct_val_ppl(trainer, random_iter):
    """d2l's forward (one-hot inputs, the seed's loop) over the held-out text."""
    model, cfg = trainer.model, trainer.cfg
    ids = torch.tensor(trainer.split.val)
    rows = min(cfg.batch_size, (len(ids) - 1) // cfg.num_steps)
    n = ((len(ids) - 1) // rows) * rows
    Xs, Ys = ids[:n].reshape(rows, -1), ids[1:n + 1].reshape(rows, -1)
    W_xh, W_hh, b_h, W_hq, b_q = [p.detach() for p in model.params]
    total, count, H = 0.0, 0, torch.zeros(rows, cfg.num_hiddens)
    for i in range(0, (Xs.shape[1] // cfg.num_steps) * cfg.num_steps, cfg.num_steps):
        X, Y = Xs[:, i:i + cfg.num_steps], Ys[:, i:i + cfg.num_steps]
        if random_iter:
            H = torch.zeros(rows, cfg.num_hiddens)
        for t in range(cfg.num_steps):
            H = torch.tanh(F.one_hot(X[:, t], len(trainer.vocab)).float() @ W_xh
                           + H @ W_hh + b_h)
            total += float(F.cross_entropy(H @ W_hq + b_q, Y[:, t], reduction="sum"))
            count += rows
    return math.exp(total / count), count


@pytest.mark.parametrize("random_iter", [False, True])
def test_val_perplexity_equals_a_direct_computation_with_the_same_weights(random_iter):
    trainer = Trainer(RunConfig(**SMALL, random_iter=random_iter).validate())
    epochs = [ev for ev in trainer.events() if isinstance(ev, Epoch)]
    expected, count = direct_val_ppl(trainer, random_iter)
    assert count >= 90                       # most of the held-out text is measured
    assert epochs[-1].val_perplexity == pytest.approx(expected, rel=1e-5)
    assert epochs[0].val_perplexity != pytest.approx(expected, rel=1e-3)  # per epoch


def test_val_perplexity_leaves_training_as_it_was():
    """d2l's training is the same with and without validation: weights and
    perplexities bitwise (the held-out text follows the slice; no randomness
    is drawn)."""
    runs = []
    for frac in (0.1, 0.0):
        trainer = Trainer(RunConfig(**SMALL, val_fraction=frac).validate())
        ppl = [ev.perplexity for ev in trainer.events() if isinstance(ev, Epoch)]
        runs.append((ppl, [p.detach().clone() for p in trainer.model.params]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


@pytest.mark.parametrize("value", [-0.1, 0.6, "lots"])
def test_val_fraction_out_of_range_is_refused(value):
    with pytest.raises(ConfigError, match="val_fraction must be"):
        RunConfig(val_fraction=value).validate()
