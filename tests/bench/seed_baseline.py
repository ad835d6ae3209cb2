"""The seed's training step, exactly as d2l 8.5 runs it, as a timed baseline.

Built on tests/seed_reference.py (the seed's code written out): one-hot
inputs, the per-step Python loop of `rnn`, autograd's backward, the seed's
`grad_clipping` (a host sync on `norm > theta`), d2l's `sgd`, and the
`float(l)` that d2l's train_epoch_ch8 does for its perplexity metric.

    python tests/bench/seed_baseline.py [--num-hiddens 512] [--minibatches 40] [--threads 1]

prints the seed's tokens/s. `seed_losses` gives the loss of each minibatch
for the numerics check in bench_engine.py.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
# d2l's float(l) on a tensor that requires grad: torch warns, d2l does it anyway
warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from tests import seed_reference as seed  # noqa: E402
from tests.bench.book import book_path  # noqa: E402

# d2l 8.5's configuration
BATCH_SIZE, NUM_STEPS, LR, THETA, MAX_TOKENS = 32, 35, 1.0, 1.0, 10000


class SeedSetup:
    """The seed's model and data iterator for one configuration.

    Same initialisation as our engine for the same seed: torch.manual_seed
    then get_params (W_xh, W_hh, W_hq drawn in that order), and the global
    `random` seeded so seq_data_iter_sequential draws the same offsets as
    charrnn.data with random.Random(seed).
    """

    def __init__(self, num_hiddens=512, seed_=0, device="cpu", random_iter=False):
        self.corpus, self.vocab = seed.load_corpus_time_machine(book_path(), MAX_TOKENS)
        self.device = torch.device(device)
        self.random_iter = random_iter
        torch.manual_seed(seed_)
        random.seed(seed_)
        self.net = seed.RNNModelScratch(len(self.vocab), num_hiddens, self.device,
                                        seed.get_params, seed.init_rnn_state, seed.rnn)
        self.loss = nn.CrossEntropyLoss()
        self._it = None
        self.state = None

    def _next_batch(self):
        """d2l's SeqDataLoader: a fresh iterator (new random offset) per epoch."""
        while True:
            if self._it is None:
                fn = seed.seq_data_iter_random if self.random_iter else seed.seq_data_iter_sequential
                self._it = fn(self.corpus, BATCH_SIZE, NUM_STEPS)
                self.state = None            # train_epoch_ch8: state = None per epoch
            try:
                return next(self._it)
            except StopIteration:
                self._it = None

    def step(self) -> float:
        """One minibatch of d2l's train_epoch_ch8; returns float(l) as d2l does."""
        net, device = self.net, self.device
        X, Y = self._next_batch()
        if self.state is None or self.random_iter:
            self.state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            for s in self.state:
                s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, self.state = net(X, self.state)
        l = self.loss(y_hat, y.long()).mean()
        l.backward()
        seed.grad_clipping(net, THETA)
        seed.sgd(net.params, LR, batch_size=1)   # d2l: updater(batch_size=1)
        return float(l)


def seed_losses(n: int, num_hiddens=512, seed_=0, device="cpu") -> list[float]:
    """The loss of the seed's first n minibatches (the numerics reference)."""
    s = SeedSetup(num_hiddens, seed_, device)
    return [s.step() for _ in range(n)]


def tokens_per_s(setup: SeedSetup, n: int) -> float:
    """Time n minibatches on a warm setup; tokens/s as d2l counts them."""
    sync = setup.device.type == "cuda"
    if sync:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        setup.step()          # float(l) inside already syncs, as in d2l
    if sync:
        torch.cuda.synchronize()
    return n * BATCH_SIZE * NUM_STEPS / (time.perf_counter() - t0)


def train_seed(n: int, num_hiddens=512, threads=None, warmup=3, device="cpu") -> float:
    """Build the seed's setup, warm it up, train n minibatches: tokens/s."""
    if threads:
        torch.set_num_threads(threads)
    s = SeedSetup(num_hiddens, 0, device)
    for _ in range(warmup):
        s.step()
    return tokens_per_s(s, n)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--num-hiddens", type=int, default=512)
    p.add_argument("--minibatches", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    tps = train_seed(a.minibatches, a.num_hiddens, a.threads, device=a.device)
    print(f"seed's code, h{a.num_hiddens}, {a.threads} thread(s), {a.device}: "
          f"{tps:,.0f} tokens/s ({a.minibatches} minibatches)")
    print("losses of the first 5 minibatches:",
          [round(x, 6) for x in seed_losses(5, a.num_hiddens, device=a.device)])


if __name__ == "__main__":
    main()
