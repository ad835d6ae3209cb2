"""GPU figures: the seed's code vs our engine on CUDA, and the whole d2l run.

    python tests/bench/gpu.py [--epochs 500] [--out results.json]

Prints one JSON object: tokens/s of the seed's d2l loop and of our Trainer
(probes on) for the d2l config, alternated, and the 500-epoch d2l runs
(sequential and random) with their final perplexity and wall time.
"""
import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from charrnn.config import RunConfig  # noqa: E402
from charrnn.events import Epoch  # noqa: E402
from charrnn.data import load_corpus  # noqa: E402
from charrnn.train import Trainer  # noqa: E402
from tests import seed_reference as seed  # noqa: E402


def seed_epochs(corpus, vocab, epochs, device):
    """d2l's train_epoch_ch8 loop, timed per epoch (tokens/s)."""
    torch.manual_seed(0)
    random.seed(0)
    net = seed.RNNModelScratch(len(vocab), 512, device, seed.get_params,
                               seed.init_rnn_state, seed.rnn)
    loss = torch.nn.CrossEntropyLoss()
    speeds = []
    for _ in range(epochs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        n = 0
        it = seed.seq_data_iter_sequential(corpus, 32, 35)
        state = None
        for X, Y in it:
            if state is None:
                state = net.begin_state(X.shape[0], device)
            else:
                for s in state:
                    s.detach_()
            y = Y.T.reshape(-1).to(device)
            y_hat, state = net(X.to(device), state)
            l = loss(y_hat, y.long()).mean()
            l.backward()
            seed.grad_clipping(net, 1)
            seed.sgd(net.params, 1, 1)
            n += y.numel()
        torch.cuda.synchronize()
        speeds.append(n / (time.perf_counter() - t0))
    return speeds


def ours_epochs(epochs, device):
    cfg = RunConfig(num_epochs=epochs, device=device).validate()
    return [ev.tokens_per_s for ev in Trainer(cfg).events() if isinstance(ev, Epoch)]


def full_run(random_iter, epochs, device, seed_=0):
    cfg = RunConfig(num_epochs=epochs, random_iter=random_iter, device=device,
                    seed=seed_).validate()
    t0 = time.perf_counter()
    tr = Trainer(cfg)
    last = None
    for ev in tr.events():
        if isinstance(ev, Epoch):
            last = ev
    torch.cuda.synchronize()
    return {"random_iter": random_iter, "seed": seed_, "perplexity": last.perplexity,
            "tokens_per_s": last.tokens_per_s, "seconds": time.perf_counter() - t0,
            "sample": tr.predict().text}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    device = "cuda"
    c = load_corpus("timemachine", "d2l", 10000)
    res = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "seed": [], "ours": []}
    seed_epochs(c.corpus, c.vocab, 2, device)  # warm-up (kernels, allocator)
    ours_epochs(2, device)
    for _ in range(a.rounds):  # alternate: A B A B
        res["seed"] += seed_epochs(c.corpus, c.vocab, 10, device)
        res["ours"] += ours_epochs(10, device)
    res["seed_median"] = statistics.median(res["seed"])
    res["ours_median"] = statistics.median(res["ours"])
    res["ratio"] = res["ours_median"] / res["seed_median"]
    res["d2l_runs"] = [full_run(False, a.epochs, device), full_run(True, a.epochs, device),
                       full_run(False, a.epochs, device, 1), full_run(True, a.epochs, device, 1)]
    text = json.dumps({k: v for k, v in res.items() if k not in ("seed", "ours")}, indent=1,
                      default=lambda x: None if isinstance(x, float) and math.isinf(x) else x)
    print(text)
    if a.out:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
