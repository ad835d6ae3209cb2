"""GPU figures in one call: the seed's code vs our eager step vs the captured
step (CUDA graph), the whole d2l runs through the CLI, the app's worker
process, and the torch.nn models vs d2l's concise implementations.

    CHARRNN_DATA_DIR=... python tests/bench/gpu.py [--out results.json]
    python tests/bench/gpu.py --small          # a smoke run: tiny sizes, any device

Prints a table last and one JSON object (also written to --out):
- `alternated`: tokens/s per epoch at d2l's settings (512 hidden units, batch
  32, 35 steps, 10,000 tokens, lr 1, theta 1), probes on unless said, in
  rounds seed / eager / graph / graph without snapshots, medians;
- `replay_us`: one replay of the captured step, GPU time (CUDA events);
- `cli`: `python -m charrnn train --device cuda --json` for 500 epochs,
  sequential and random partitioning, and sequential with the eager step;
- `worker`: `python -m charrnn.worker`, the process the app trains in, given
  the same run as the CLI: seconds from Start to the first step event, and
  tokens/s against the CLI's (a spare started 8 s before Start, as the app
  keeps one, and a cold one);
- `torch_models`: nn.RNN / GRU / LSTM at d2l's concise settings (256 hidden
  units) in our Trainer (probes on, probes off) vs d2l's own loop
  (tests/bench/d2l_concise.py), alternated.
"""
import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from charrnn import cuda_graph  # noqa: E402
from charrnn.config import RunConfig  # noqa: E402
from charrnn.data import load_corpus  # noqa: E402
from charrnn.events import Done, Epoch, Failed, Start, Step  # noqa: E402
from charrnn.model import ScratchRNN  # noqa: E402
from charrnn.train import Trainer, grad_clipping  # noqa: E402
from tests import seed_reference as seed  # noqa: E402
from tests.bench.d2l_concise import concise_epochs  # noqa: E402

NO_SNAPSHOTS = 10 ** 6


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def med(xs):
    return statistics.median(xs) if xs else math.nan


def seed_epochs(corpus, vocab, epochs, device, hidden):
    """d2l's train_epoch_ch8 loop with the seed's scratch model, tokens/s per epoch."""
    torch.manual_seed(0)
    random.seed(0)
    net = seed.RNNModelScratch(len(vocab), hidden, device, seed.get_params,
                               seed.init_rnn_state, seed.rnn)
    loss = torch.nn.CrossEntropyLoss()
    speeds = []
    for _ in range(epochs):
        sync(device)
        t0 = time.perf_counter()
        n = 0
        state = None
        for X, Y in seed.seq_data_iter_sequential(corpus, 32, 35):
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
        sync(device)
        speeds.append(n / (time.perf_counter() - t0))
    return speeds


def ours_epochs(epochs, device, hidden, graph=True, probes=True, model="scratch"):
    """Our Trainer's tokens/s per epoch (its own training clock) and its step mode."""
    os.environ[cuda_graph.CAPTURE_SWITCH] = "1" if graph else "0"
    try:
        cfg = RunConfig(num_epochs=epochs, device=device, num_hiddens=hidden, model=model,
                        snapshot_every=10 if probes else NO_SNAPSHOTS).validate()
        speeds, mode = [], None
        for ev in Trainer(cfg).events():
            if isinstance(ev, Start):
                mode = ev.step_mode
            elif isinstance(ev, Epoch):
                speeds.append(ev.tokens_per_s)
        return speeds, mode
    finally:
        os.environ.pop(cuda_graph.CAPTURE_SWITCH, None)


def replay_us(device, hidden, reps=200):
    """GPU time of one replay of the captured d2l step (no probe), CUDA events."""
    if device != "cuda":
        return None
    m = ScratchRNN(28, hidden, device)
    g = cuda_graph.GraphStep(m, 32, 35, 1.0, 1.0, grad_clipping)
    if g.prepare([False]) is not None:
        return None
    graph = g._graphs[False][0]
    g.XY.copy_(torch.randint(0, 28, (2, 32, 35), device=device))
    for _ in range(20):
        graph.replay()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(reps):
        graph.replay()
    b.record()
    b.synchronize()
    return a.elapsed_time(b) * 1000 / reps


def cli_run(epochs, device, hidden, random_iter=False, graph=True):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env[cuda_graph.CAPTURE_SWITCH] = "1" if graph else "0"
    cmd = [sys.executable, "-m", "charrnn", "train", "--device", device, "--json",
           "--num-epochs", str(epochs), "--num-hiddens", str(hidden)]
    if random_iter:
        cmd.append("--random-iter")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    if r.returncode != 0 or not lines:
        return {"cmd": " ".join(cmd[1:]), "error": r.stderr[-2000:]}
    eps, final = lines[:-1], lines[-1]
    speeds = [e["tokens_per_s"] for e in eps[1:]] or [e["tokens_per_s"] for e in eps]
    return {"cmd": "python " + " ".join(cmd[1:]), "random_iter": random_iter,
            "step_mode": final.get("step_mode"), "perplexity": final["perplexity"],
            "tokens_per_s_median": med(speeds), "train_seconds": final.get("train_seconds"),
            "seconds": final["seconds"], "process_seconds": wall, "sample": final["sample"],
            "stderr": r.stderr[-500:]}


def worker_run(epochs, device, hidden, spare_wait):
    """The app's worker process given one run: seconds from Start (the run
    sent) to its start and first step events, and its epochs' tokens/s."""
    from charrnn.worker import Worker
    w = Worker()
    time.sleep(spare_wait)   # how long the spare has been up when Start is pressed
    cfg = RunConfig(num_epochs=epochs, device=device, num_hiddens=hidden).validate()
    settings = {k: v for k, v in os.environ.items() if k.startswith("CHARRNN_")}
    t0 = time.perf_counter()
    w.conn.send((cfg, settings))
    res = {"spare_wait_s": spare_wait, "start_s": None, "first_step_s": None}
    wall, compute, error = [], [], None
    try:
        done = False
        while not done:
            if not w.conn.poll(300):
                error = "timeout"
                break
            batch = w.conn.recv()
            now = time.perf_counter() - t0
            for ev in batch:
                if isinstance(ev, Start) and res["start_s"] is None:
                    res["start_s"], res["step_mode"] = now, ev.step_mode
                elif isinstance(ev, Step) and res["first_step_s"] is None:
                    res["first_step_s"] = now
                elif isinstance(ev, Epoch):
                    wall.append(ev.tokens_per_s)
                    compute.append(ev.compute_tokens_per_s)
                elif isinstance(ev, Failed):
                    error = ev.message
                    done = True
                elif isinstance(ev, Done):
                    done = True
        res["seconds"] = time.perf_counter() - t0
    finally:
        w.kill()
        w.close()
    res.update(error=error, wall_tokens_per_s_median=med(wall[1:]),
               compute_tokens_per_s_median=med(compute[1:]))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=500, help="epochs of the whole runs")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--small", action="store_true", help="smoke run: tiny sizes")
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out: "
                    "alternated,cli,worker,torch")
    a = ap.parse_args()
    # d2l's Accumulator takes float() of a loss that requires grad, as the book does
    warnings.filterwarnings("ignore", "Converting a tensor with requires_grad")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    hidden, t_hidden = (32, 16) if a.small else (512, 256)
    epochs = 2 if a.small else a.epochs
    seed_n, ours_n, t_n = (1, 2, 2) if a.small else (10, 30, 10)
    rounds = 1 if a.small else a.rounds
    skip = set(filter(None, a.skip.split(",")))
    c = load_corpus("timemachine", "d2l", 10000)
    res = {"gpu": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
           "torch": torch.__version__, "device": device, "hidden": hidden}
    rows = []

    def save():
        text = json.dumps(res, indent=1, default=str)
        if a.out:
            Path(a.out).write_text(text)
        return text

    if "alternated" not in skip:
        seed_epochs(c.corpus, c.vocab, 1, device, hidden)   # warm-up: kernels, allocator
        ours_epochs(2, device, hidden)
        alt = {"seed": [], "eager": [], "graph": [], "graph_no_snapshots": []}
        modes = {}
        for _ in range(rounds):   # alternated: seed, eager, graph, graph w/o snapshots
            alt["seed"] += seed_epochs(c.corpus, c.vocab, seed_n, device, hidden)
            for name, kw in (("eager", {"graph": False}), ("graph", {}),
                             ("graph_no_snapshots", {"probes": False})):
                speeds, modes[name] = ours_epochs(ours_n, device, hidden, **kw)
                alt[name] += speeds[1:]
        res["alternated"] = {k: {"median": med(v), "n": len(v), "min": min(v), "max": max(v)}
                             for k, v in alt.items()}
        res["alternated_modes"] = modes
        s = res["alternated"]["seed"]["median"]
        for k, v in res["alternated"].items():
            rows.append((f"d2l h{hidden} {k}", f"{v['median']:,.0f} tokens/s",
                         f"{v['median'] / s:.2f}x seed"))
        res["replay_us"] = replay_us(device, hidden)
        save()
    print(json.dumps(res, default=str), flush=True)

    if "cli" not in skip:
        res["cli"] = [cli_run(epochs, device, hidden),
                      cli_run(epochs, device, hidden, random_iter=True),
                      cli_run(epochs, device, hidden, graph=False)]
        for r in res["cli"]:
            if "error" in r:
                rows.append(("cli", "ERROR", r["error"][-200:]))
                continue
            rows.append((f"cli {'random' if r['random_iter'] else 'sequential'} "
                         f"{r['step_mode']}", f"{r['tokens_per_s_median']:,.0f} tokens/s",
                         f"ppl {r['perplexity']:.3f}, train {r['train_seconds']:.2f} s, "
                         f"wall {r['seconds']:.2f} s"))
        save()
        print(json.dumps(res["cli"], default=str), flush=True)

    if "worker" not in skip:
        res["worker"] = [worker_run(epochs, device, hidden, 0.0 if a.small else 8.0),
                         worker_run(epochs, device, hidden, 0.0)]
        cli_speed = (res.get("cli") or [{}])[0].get("tokens_per_s_median")
        for w in res["worker"]:
            if cli_speed and w["compute_tokens_per_s_median"] == w["compute_tokens_per_s_median"]:
                w["vs_cli_compute"] = w["compute_tokens_per_s_median"] / cli_speed
                w["vs_cli_wall"] = w["wall_tokens_per_s_median"] / cli_speed
            rows.append((f"worker (spare up {w['spare_wait_s']:.0f} s)",
                         f"first step {w['first_step_s']} s",
                         f"{w.get('vs_cli_compute', math.nan):.2f}x CLI (engine), "
                         f"{w.get('vs_cli_wall', math.nan):.2f}x (wall) {w['error'] or ''}"))
        save()
        print(json.dumps(res["worker"], default=str), flush=True)

    if "torch" not in skip:
        res["torch_models"] = {}
        for kind in ("rnn", "gru", "lstm"):
            t = {"d2l_concise": [], "ours_probes_on": [], "ours_probes_off": []}
            concise_epochs(kind, c.corpus, len(c.vocab), t_hidden, 1, device)   # warm-up
            for _ in range(rounds):
                t["d2l_concise"] += concise_epochs(kind, c.corpus, len(c.vocab), t_hidden,
                                                   t_n, device)[0][1:]
                t["ours_probes_on"] += ours_epochs(t_n, device, t_hidden, model=kind)[0][1:]
                t["ours_probes_off"] += ours_epochs(t_n, device, t_hidden, model=kind,
                                                    probes=False)[0][1:]
            res["torch_models"][kind] = {k: med(v) for k, v in t.items()}
            m = res["torch_models"][kind]
            rows.append((f"nn.{kind.upper()} h{t_hidden}", f"d2l {m['d2l_concise']:,.0f}",
                         f"ours probes on {m['ours_probes_on'] / m['d2l_concise']:.2f}x, "
                         f"off {m['ours_probes_off'] / m['d2l_concise']:.2f}x"))
        save()

    save()
    print(f"\n{res['gpu']}, torch {res['torch']}")
    for r in rows:
        print(" | ".join(str(x) for x in r))


if __name__ == "__main__":
    main()
