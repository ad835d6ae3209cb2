"""The seed's code vs our engine, headless: tokens/s, alternated, medians.

    python tests/bench/bench_engine.py            # full: ~5-7 minutes on 2 cores
    python tests/bench/bench_engine.py --quick    # ~1 minute
    python tests/bench/bench_engine.py --neighbour   # a busy process on one core meanwhile
    python tests/bench/bench_engine.py --device cuda --hidden 512 --threads 1

Variants (d2l 8.5's config: batch 32, 35 steps, lr 1, theta 1, sequential,
the first 10,000 tokens of The Time Machine; 512 and 128 hidden units):

- seed:       tests/bench/seed_baseline.py, d2l's training step exactly
              (one-hot forward, autograd backward, grad_clipping, sgd, float(l)).
- ours off:   `model.forward_backward` + charrnn.train.grad_clipping + the
              SGD update (+ float(loss), as d2l's metric does): no probes.
- ours on:    `Trainer.events()` as the app's Run thread consumes it, events
              written into a RunLog: every step's stats, hidden-state
              snapshots every 10 steps in bursts of 3, the W_hh spectrum at
              most every 50 steps and within its 5% budget (in the
              background: one still computing when a window ends is waited
              for, untimed), a text sample every 10 epochs or 5 s.
Threads: the seed's code runs torch's OpenMP threads (1 or 2); ours runs the
same number of cores as charrnn/threads.py gives them to the scratch model:
the minibatch's rows split over that many Python threads running the
TorchScript step (charrnn/bptt.py), torch itself on one thread.

Every (variant, threads) pair is measured once per repetition, the
order reversed every other repetition (A B C ... C B A ...), so background
load hits all of them alike; tables give medians and the median of the
per-repetition ratios. A numerics check compares the first 20 losses of the
seed and of our Trainer from the same seed, at every thread setting.

No timed assertions: this is a report, never a test.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")

from tests.bench.book import data_dir  # noqa: E402

os.environ.setdefault("CHARRNN_DATA_DIR", data_dir())

import torch  # noqa: E402

from charrnn import data  # noqa: E402
from charrnn.config import RunConfig  # noqa: E402
from charrnn.events import Epoch, Sample, Snapshot, Spectral, Step  # noqa: E402
from charrnn.log import RunLog  # noqa: E402
from charrnn.model import ScratchRNN  # noqa: E402
from charrnn.threads import configure_threads, use_cores  # noqa: E402
from charrnn.train import Trainer, grad_clipping  # noqa: E402
from tests.bench.seed_baseline import (BATCH_SIZE, LR, MAX_TOKENS, NUM_STEPS,  # noqa: E402
                                       THETA, SeedSetup, seed_losses)

TOKENS_PER_MB = BATCH_SIZE * NUM_STEPS


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------- runners
class SeedRunner:
    def __init__(self, Hn, device):
        self.s = SeedSetup(Hn, 0, device)
        self.device = self.s.device

    def run(self, n):
        for _ in range(n):
            self.s.step()


class StepRunner:
    """Probes off: forward_backward + clipping + update, nothing else."""

    def __init__(self, Hn, device):
        self.device = torch.device(device)
        torch.manual_seed(0)
        self.model = ScratchRNN(28, Hn, self.device)
        self.model.cores = use_cores(split_rows=self.device.type == "cpu")
        self.corpus = torch.tensor(data.load_corpus("timemachine", "d2l", MAX_TOKENS).corpus)
        self.rng = random.Random(0)
        self.it = iter(())
        self.state = None

    def run(self, n):
        m = self.model
        for _ in range(n):
            try:
                X, Y = next(self.it)
            except StopIteration:
                self.it = data.batches(self.corpus, BATCH_SIZE, NUM_STEPS, False, self.rng)
                X, Y = next(self.it)
                self.state = None
            if self.state is None:
                self.state = m.begin_state(X.shape[0], self.device)
            X, Y = X.to(self.device), Y.to(self.device)
            out = m.forward_backward(X, Y, self.state, False)
            self.state = out.state
            grad_clipping(out.grads, THETA)
            with torch.no_grad():
                torch._foreach_add_(m.params, out.grads, alpha=-LR)
            if self.device.type == "cpu":
                float(out.loss)      # d2l's metric; on a GPU this would be a sync


def trainer_config(Hn, device="cpu", seed=0, num_epochs=1_000_000) -> RunConfig:
    return RunConfig(num_hiddens=Hn, num_epochs=num_epochs, device=device, seed=seed,
                     batch_size=BATCH_SIZE, num_steps=NUM_STEPS, lr=LR, theta=THETA,
                     max_tokens=MAX_TOKENS).validate()


class TrainerRunner:
    """Probes on, as the app runs it: Trainer.events() into a RunLog."""

    def __init__(self, Hn, device):
        self.trainer = Trainer(trainer_config(Hn, str(device)))
        self.device = self.trainer.device
        self.log = RunLog(self.trainer.model.param_names, NUM_STEPS)
        self.events = self.trainer.events()

    def run(self, n):
        log, seen = self.log, 0
        for ev in self.events:
            if isinstance(ev, (Step, Snapshot, Epoch, Spectral, Sample)):
                log.add(ev)
            if isinstance(ev, Step):
                seen += 1
                if seen == n:
                    return

    def settle(self):
        """Wait for a W_hh spectrum still computing in the background. It ran
        beside this runner's own steps, but its rest would run beside the NEXT
        variant's window (it did: at 50 minibatches a window, a spectrum due on
        a window's last step slowed the following one, the seed's or the
        other thread setting's, by up to 10%)."""
        sp = self.trainer._spectrum
        if sp is not None:
            sp.wait(30.0)


def set_threads(variant, th):
    """The seed's code: torch threads. Ours: cores as the app gives them."""
    if variant == "seed":
        torch.set_num_threads(th)
    else:
        configure_threads(th)
        use_cores(split_rows=True)


def measure(runner, n):
    """(tokens/s, CPU seconds / wall seconds) of n minibatches."""
    _sync(runner.device)
    c0, t0 = time.process_time(), time.perf_counter()
    runner.run(n)
    _sync(runner.device)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    settle = getattr(runner, "settle", None)
    if settle:
        settle()   # untimed, see TrainerRunner.settle
    return n * TOKENS_PER_MB / wall, cpu / wall


# ----------------------------------------------------------------- numerics
def trainer_losses(n, Hn, device="cpu"):
    tr = Trainer(trainer_config(Hn, device, num_epochs=100))
    out = []
    for ev in tr.events():
        if isinstance(ev, Step):
            out.append(ev.loss)
            if len(out) == n:
                break
    return out


def numerics(hiddens, threads, device="cpu", n=20):
    print(f"\n## Numerics: the first {n} losses, same seed (0), seed's code vs ours\n")
    print("| hidden | variant | max relative difference | within 1e-5 |")
    print("|---|---|---|---|")
    ok = True
    for Hn in hiddens:
        ref = seed_losses(n, Hn, device=device)
        for th in threads:
            set_threads("ours", th)
            name = f"Trainer (engine, probes on), {th} thread{'s' if th > 1 else ''}"
            ours = trainer_losses(n, Hn, device)
            worst = max(abs(a - b) / abs(b) for a, b in zip(ours, ref))
            ok &= worst < 1e-5
            print(f"| {Hn} | {name} | {worst:.2e} | {'yes' if worst < 1e-5 else 'NO'} |")
    return ok


# ----------------------------------------------------------------- costs
def startup_and_probe_costs(hiddens, device="cpu", reps=5):
    """Cold start (Trainer construction, first step event) and the price of each
    probe: the W_hh spectrum (every 50 steps), a snapshot (3 of every 10 steps)."""
    from charrnn.data import load_corpus
    print("\n## Start-up and probe costs (ms, median of "
          f"{reps}; torch threads {torch.get_num_threads()})\n")
    print("| hidden | load_corpus | Trainer(cfg) incl. corpus | -> first 'step' event | "
          "_spectral() (eigvals + 2-norm) | _snapshot() | a probes-off step (for scale) |")
    print("|---|---|---|---|---|---|---|")
    for Hn in hiddens:
        lc, build, first, spec, snap, step = [], [], [], [], [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            load_corpus("timemachine", "d2l", MAX_TOKENS)
            lc.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            tr = Trainer(trainer_config(Hn, str(device)))
            build.append(time.perf_counter() - t0)
            for ev in tr.events():
                if isinstance(ev, Step):
                    break
            _sync(tr.device)
            first.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            tr._spectral()
            spec.append(time.perf_counter() - t0)
            X, Y = next(data.batches(tr.corpus.corpus, BATCH_SIZE, NUM_STEPS, False,
                                     random.Random(0)))
            X, Y = X.to(tr.device), Y.to(tr.device)
            st = tr.model.begin_state(BATCH_SIZE, tr.device)
            out = tr.model.forward_backward(X, Y, st, probe=list(tr.cfg.probe_lanes))
            t0 = time.perf_counter()
            tr._snapshot(X, Y, st, out)
            snap.append(time.perf_counter() - t0)
            _sync(tr.device)
            t0 = time.perf_counter()
            tr.model.forward_backward(X, Y, st, probe=False)
            _sync(tr.device)
            step.append(time.perf_counter() - t0)
        m = statistics.median
        print(f"| {Hn} | {m(lc) * 1e3:.0f} | {m(build) * 1e3:.0f} | {m(first) * 1e3:.0f} | "
              f"{m(spec) * 1e3:.1f} | {m(snap) * 1e3:.2f} | {m(step) * 1e3:.1f} |")


# ----------------------------------------------------------------- machine
def machine_line():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    par = torch.__config__.parallel_info().splitlines()
    backend = next((ln.split(":", 1)[1].strip() for ln in par if "parallel backend" in ln), "?")
    return (f"nproc {os.cpu_count()} (affinity {len(os.sched_getaffinity(0))}), {cpu}, "
            f"Python {platform.python_version()}, torch {torch.__version__} "
            f"({backend}, MKL {torch.backends.mkl.is_available()}), "
            f"load average {load}")


def busy_neighbour():
    """A process that keeps one core busy (a Streamlit server, a browser)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


# ----------------------------------------------------------------- main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="2 repetitions, fewer minibatches")
    p.add_argument("--reps", type=int, default=None)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 128])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--neighbour", action="store_true",
                   help="keep one core busy with another process while measuring")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-numerics", action="store_true")
    a = p.parse_args(argv)
    reps = a.reps or (2 if a.quick else 5)
    device = torch.device(a.device)
    print("# bench_engine\n")
    print(f"machine: {machine_line()}")
    if device.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(device)}")
    print(f"command: python tests/bench/bench_engine.py {' '.join(argv or sys.argv[1:])}")
    if a.neighbour:
        print("a busy neighbour process keeps one core busy during the measurements")

    # one thread from the start: torch ops run from a second Python thread (a
    # row group's) at 2+ torch threads would give it its own OpenMP team and slow
    # every later 2-thread measurement of this process (charrnn/threads.py)
    torch.set_num_threads(1)
    if not a.no_numerics:
        numerics(a.hidden, a.threads, a.device)
        torch.set_num_threads(1)
        startup_and_probe_costs(a.hidden, device, 3 if a.quick else 5)

    # (key, factory, thread settings)
    variants = [("seed", lambda H: SeedRunner(H, device), a.threads),
                ("ours off", lambda H: StepRunner(H, device), a.threads),
                ("ours on", lambda H: TrainerRunner(H, device), a.threads)]
    neighbour = busy_neighbour() if a.neighbour else None
    summary = []
    try:
        for Hn in a.hidden:
            # Windows of 550 minibatches (0.5-10 s): about two W_hh spectra
            # in each at h512 (SPECTRAL_BUDGET spaces them ~250 steps apart),
            # at any place in the window (550 is not a multiple of
            # spectral_every); a window's last spectrum may still run when it
            # ends and is waited for untimed (TrainerRunner.settle), a small
            # bias in our favour against a long window.
            n = 50 if a.quick else 550
            if device.type == "cuda":
                n = 100
            cells = [(k, th, f) for k, f, ths in variants for th in ths]
            runners = {}
            for k, th, f in cells:
                set_threads(k, th)
                r = f(Hn)
                measure(r, 3 if k.endswith("off") or k == "seed" else 51)  # warm-up
                runners[(k, th)] = r
            res = {(k, th): [] for k, th, _ in cells}
            load = {(k, th): [] for k, th, _ in cells}
            ratio_same, ratio_best = {c: [] for c in res}, {c: [] for c in res}
            for rep in range(reps):
                order = cells if rep % 2 == 0 else cells[::-1]
                row = {}
                for k, th, _ in order:
                    set_threads(k, th)
                    tps, cores = measure(runners[(k, th)], n)
                    row[(k, th)] = tps
                    res[(k, th)].append(tps)
                    load[(k, th)].append(cores)
                best = max(v for (k, _), v in row.items() if k == "seed")
                for (k, th), v in row.items():
                    same = row.get(("seed", th), best)
                    ratio_same[(k, th)].append(v / same)
                    ratio_best[(k, th)].append(v / best)
                print(f"  h{Hn} repetition {rep + 1}/{reps}: " + ", ".join(
                    f"{k} t{th} {v:,.0f}" for (k, th), v in row.items()), file=sys.stderr)
            med = {c: statistics.median(v) for c, v in res.items()}
            print(f"\n## h{Hn}: tokens/s, median of {reps} alternated repetitions "
                  f"({n} minibatches each, {device})\n")
            print("| variant | threads | tokens/s | CPU cores busy | tokens per CPU-second "
                  "| x seed (same threads) | x seed at its best thread setting |")
            print("|---|---|---|---|---|---|---|")
            for (k, th) in res:
                thl = f"{th} (torch)" if k == "seed" else (
                    f"{th} row groups" if th > 1 and device.type == "cpu" else str(th))
                per_cpu = statistics.median(v / c for v, c in zip(res[(k, th)], load[(k, th)]))
                print(f"| {k} | {thl} | {med[(k, th)]:,.0f} | "
                      f"{statistics.median(load[(k, th)]):.2f} | {per_cpu:,.0f} | "
                      f"{statistics.median(ratio_same[(k, th)]):.2f}x | "
                      f"{statistics.median(ratio_best[(k, th)]):.2f}x |")
                summary.append((Hn, k, th, med[(k, th)], statistics.median(ratio_best[(k, th)])))
    finally:
        if neighbour:
            neighbour.kill()
            neighbour.wait()
    torch.set_num_threads(1)
    print("\n## Summary: best thread setting of each variant vs the seed at its best\n")
    print("| hidden | variant | best threads | tokens/s | x seed best (median per repetition) |")
    print("|---|---|---|---|---|")
    for Hn in a.hidden:
        for k in dict.fromkeys(s[1] for s in summary if s[0] == Hn):
            rows = [s for s in summary if s[0] == Hn and s[1] == k]
            b = max(rows, key=lambda s: s[3])
            print(f"| {Hn} | {k} | {b[2]} | {b[3]:,.0f} | {b[4]:.2f}x |")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
