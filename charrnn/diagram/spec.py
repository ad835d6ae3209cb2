"""What the diagram draws: the DiagramSpec and d2l's small example."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from charrnn.data import batches


@dataclass
class DiagramSpec:
    """Everything the grid, the animation and the clipping picture draw.

    tokens / labels / chars / label_chars: optional arrays shaped
    (num_batches, batch_size, num_steps): the inputs X of each minibatch, the
    labels Y, and their characters.  Labels default to the next token in the
    lane (sequential partitioning continues into the next minibatch).
    hidden: optional per-cell values for hover, shaped (lanes, num_steps) (a
    summary such as mean |H|) or (lanes, num_steps, k) (the first k units),
    optionally with a leading num_batches axis; without it they belong to
    ``active_batch``.  hidden_lanes: which batch rows its lanes are (default
    0, 1, ...).
    """
    batch_size: int = 2
    num_steps: int = 5
    num_batches: int = 3
    vocab_size: int = 28
    num_hiddens: int = 512
    random_iter: bool = False
    tokens: Any = None
    labels: Any = None
    chars: Any = None
    label_chars: Any = None
    show_chars: bool = False
    theta: float | None = 1.0
    grad_norm_before: float | None = None
    grad_norm_after: float | None = None
    hidden: Any = None
    hidden_lanes: Sequence[int] | None = None
    active_batch: int = 0          # the minibatch the animation trains on
    sketch: bool = False
    lang: str = "en"
    present: bool = False
    max_lanes: int = 4             # more lanes than this: first 2, "more", last
    max_steps: int = 6             # more steps than this: first 3, "...", last

    def __post_init__(self):
        for name in ("batch_size", "num_steps", "num_batches", "vocab_size",
                     "num_hiddens"):
            value = int(getattr(self, name))
            if value < 1:
                raise ValueError(f"{name} must be at least 1, not {value}")
            setattr(self, name, value)
        shape = (self.num_batches, self.batch_size, self.num_steps)
        for name in ("tokens", "labels", "chars", "label_chars"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=object if "chars" in name else None)
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape} "
                                 f"(num_batches, batch_size, num_steps), not {arr.shape}")
            setattr(self, name, arr)
        if self.theta is not None and not self.theta > 0:
            self.theta = None
        self.active_batch = min(max(int(self.active_batch), 0), self.num_batches - 1)
        if self.hidden is not None:
            self.hidden = np.asarray(self.hidden, dtype=float)
        self.random_iter = bool(self.random_iter)


def partition_tokens(corpus, batch_size, num_steps, *, random_iter=False,
                     offset=None, seed=0, num_batches=None):
    """d2l's seq_data_iter_sequential / _random (charrnn.data) as arrays (X, Y).

    Both are shaped (num_batches, batch_size, num_steps).  `offset` fixes
    d2l's random start offset (default: drawn with `seed`, as d2l does).
    """
    pairs = list(batches(list(corpus), batch_size, num_steps, random_iter,
                         random.Random(seed), None if offset is None else int(offset)))
    X = np.array([x.numpy() for x, _ in pairs])
    Y = np.array([y.numpy() for _, y in pairs])
    if num_batches is not None:
        X, Y = X[:num_batches], Y[:num_batches]
    return X, Y


def _printout(random_iter, seed):
    """d2l's 0..34 example with batch_size=2, num_steps=5 (sequential: offset 2)."""
    return partition_tokens(range(35), 2, 5, random_iter=random_iter,
                            offset=None if random_iter else 2, seed=seed,
                            num_batches=3)


def small_example(random_iter=False, seed=0):
    """Token ids (3, 2, 5): d2l's printout for batch_size=2, num_steps=5 on 0..34.

    Sequential uses d2l's offset 2 of that printout (X: [[2..6],[18..22]],
    [[7..11],[23..27]], [[12..16],[28..32]]; Y = X + 1); random draws a
    d2l-style random partition with `seed`.
    """
    return _printout(random_iter, seed)[0]


def example_spec(random_iter=False, seed=0, **overrides) -> DiagramSpec:
    """The default view: d2l's printout as a DiagramSpec (labels Y = X + 1)."""
    X, Y = _printout(random_iter, seed)
    kw = dict(batch_size=2, num_steps=5, num_batches=3, vocab_size=35,
              random_iter=random_iter, tokens=X, labels=Y)
    kw.update(overrides)
    return DiagramSpec(**kw)
