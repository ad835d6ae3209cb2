"""A faster EXACT equivalent of ScratchRNN.forward_backward (a prototype).

Same maths as charrnn/model.py's hand-written BPTT (which equals the seed's
autograd), reorganised so that no work is repeated and no copy is made:

1. one buffer Hbuf of shape (T+1, B, H): Hbuf[0] = H0, Hbuf[t+1] = H_t.
   The forward writes X_t W_xh + b_h into Hbuf[1:] once (row selection),
   then for each step `Hbuf[t+1].addmm_(Hbuf[t], W_hh).tanh_()`: two
   in-place ops, no temporaries. Hprev for dW_hh is the view Hbuf[:-1]
   (no torch.cat of the states).
2. the backward chain multiplies by a CONTIGUOUS copy of W_hh^T (made once
   per minibatch). model.py passes the transposed view `W_hh.T`, and MKL's
   (32 x H) @ (H x H)^T path is 1.5-2.6x slower than the plain one on this
   machine (see RESULTS.md); the copy costs one 1 MB memcpy.
3. the chain accumulates in place: `dHout[t-1].addmm_(dA[t], W_hh^T)`, so
   dL/dH_t for all paths lands in dHout (no separate dHtot buffer, no copy),
   and dA is written over the activation derivative (one buffer fewer).
4. the per-step views come from one `unbind` instead of two indexing ops
   per step (Python overhead matters at 128 hidden units).

`check()` proves equality with model.forward_backward and with autograd on
the seed's code (tests/seed_reference.py). Run:

    python tests/bench/proto_step.py [--quick]

It prints the equality check and a table of tokens/s, engine step vs this
step, alternated, at h512 and h128 with 1 and 2 torch threads.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from charrnn.model import ScratchRNN, StepOut  # noqa: E402
from tests import seed_reference as seed  # noqa: E402


@torch.no_grad()   # grad mode is per thread: the helper thread needs it too
def _rows(model, X, Y, H0, N, probe):
    """Loss sum, gradients and probes of some rows of the batch (all rows: the
    whole minibatch). Rows of a minibatch are independent lanes of the RNN, so
    the minibatch's gradient is the sum over rows; N is the whole batch's
    token count (mean cross-entropy divides by it)."""
    W_xh, W_hh, b_h, W_hq, b_q = model.params
    B, T = X.shape
    Hn = model.num_hiddens
    XT = X.T
    relu = model.activation != "tanh"
    # ---- forward: Hbuf[t+1] = act(X_t W_xh + b_h + H_t W_hh)
    Hbuf = torch.empty((T + 1, B, Hn), device=H0.device, dtype=H0.dtype)
    Hbuf[0].copy_(H0)
    Hs = Hbuf[1:]
    torch.index_select(W_xh, 0, XT.reshape(-1), out=Hs.view(T * B, Hn))   # one-hot @ W_xh
    Hs += b_h
    Hv = Hbuf.unbind(0)                           # all the step views in one op
    for t in range(T):
        h = Hv[t + 1].addmm_(Hv[t], W_hh)
        if relu:
            h.clamp_min_(0.0)
        else:
            h.tanh_()
    Hflat = Hs.reshape(T * B, Hn)                 # a view: Hs is contiguous
    # ---- output layer for all steps, cross-entropy (summed; / N below)
    logits = torch.addmm(b_q, Hflat, W_hq)
    y = Y.T.reshape(-1)
    logp = torch.log_softmax(logits, dim=1)
    loss_sum = -logp.gather(1, y.unsqueeze(1)).sum()
    dlogits = logp.exp_()
    dlogits[torch.arange(y.numel(), device=y.device), y] -= 1.0
    dlogits /= N
    dW_hq = Hflat.T @ dlogits
    db_q = dlogits.sum(0)
    dH = (dlogits @ W_hq.T).view(T, B, Hn)        # dL/dH_t through the output only
    # ---- backward through time; dH[t] becomes dL/dH_t over all paths in place
    if relu:
        dA = (Hs > 0).to(Hs.dtype)
    else:
        dA = torch.mul(Hs, Hs)
        dA.neg_().add_(1.0)                       # 1 - H_t^2, in place
    W_hhT = W_hh.T.contiguous()                   # the fast GEMM layout
    dAv, dHv = dA.unbind(0), dH.unbind(0)
    for t in range(T - 1, 0, -1):
        dAv[t].mul_(dHv[t])                       # dA_t = dL/dH_t * act'(A_t)
        dHv[t - 1].addmm_(dAv[t], W_hhT)          # + dA_t W_hh^T
    dAv[0].mul_(dHv[0])
    dAflat = dA.view(T * B, Hn)
    Hprev = Hbuf[:-1].reshape(T * B, Hn)          # a view: no cat
    dW_hh = Hprev.T @ dAflat                      # one GEMM over all steps
    db_h = dAflat.sum(0)
    if XT.device.type == "cpu":
        dW_xh = torch.zeros_like(W_xh).index_add_(0, XT.reshape(-1), dAflat)
    else:  # as model.py: index_add_ uses atomics on GPUs (not reproducible)
        dW_xh = F.one_hot(XT.reshape(-1), W_xh.shape[0]).to(dAflat.dtype).T @ dAflat
    dH_sq = dH.view(T, -1).square().sum(1) if probe else None
    return loss_sum, [dW_xh, dW_hh, db_h, dW_hq, db_q], Hbuf[T].clone(), Hs, dH, dH_sq


@torch.no_grad()
def fast_forward_backward(model: ScratchRNN, X, Y, state, probe=False, warmup=0) -> StepOut:
    """model.forward_backward, exactly, with fewer ops, no copies, contiguous W_hh^T.

    (The no-detach lecture mode, warmup > 0, is left to the engine's step.)"""
    if warmup:
        return ScratchRNN.forward_backward(model, X, Y, state, probe, warmup)
    loss_sum, grads, HT, Hs, dH, _ = _rows(model, X, Y, state[0], X.numel(), False)
    out = StepOut(loss_sum / X.numel(), grads, (HT,))
    if probe:
        out.Hs = Hs
        out.dH = torch.linalg.vector_norm(dH.view(X.shape[1], -1), dim=1)
        out.H_in = state[0]
    return out


_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bptt-half")
    return _POOL


@torch.no_grad()
def split_forward_backward(model: ScratchRNN, X, Y, state, probe=False, warmup=0) -> StepOut:
    """The same minibatch as two independent halves of its rows, one on a
    helper thread (torch ops release the GIL), one here; gradients summed.

    Exact: the batch's rows never interact in an RNN (H_t of row b depends on
    row b only) and the mean cross-entropy's gradient is a sum over rows; only
    the order of float additions in the weight gradients changes. Meant for
    torch.set_num_threads(1): two Python threads instead of OpenMP's, which
    meet twice per minibatch instead of at every op and never spin. With
    torch threads != 1 it falls back to the one-thread fast step."""
    B = X.shape[0]
    if B < 2 or warmup or torch.get_num_threads() != 1:
        # with 2+ intra-op threads the helper thread would get its own OpenMP
        # team, and that degrades every later multi-threaded op of the process
        # (measured: the seed's code at 2 threads fell from 64k to 23k tokens/s)
        return fast_forward_backward(model, X, Y, state, probe, warmup)
    h = (B + 1) // 2
    N = X.numel()
    H0 = state[0]
    fut = _pool().submit(_rows, model, X[h:], Y[h:], H0[h:], N, probe)
    la, ga, HTa, Hsa, _, sqa = _rows(model, X[:h], Y[:h], H0[:h], N, probe)
    lb, gb, HTb, Hsb, _, sqb = fut.result()
    torch._foreach_add_(ga, gb)
    out = StepOut((la + lb) / N, ga, (torch.cat([HTa, HTb]),))
    if probe:
        out.Hs = torch.cat([Hsa, Hsb], dim=1)
        out.dH = (sqa + sqb).sqrt()
        out.H_in = H0
    return out


# ------------------------------------------------------------------ checks
def _twins(num_hiddens, seed_=0, activation="tanh"):
    torch.manual_seed(seed_)
    ours = ScratchRNN(28, num_hiddens, "cpu", activation)
    torch.manual_seed(seed_)
    ref = seed.RNNModelScratch(28, num_hiddens, "cpu", seed.get_params,
                               seed.init_rnn_state, seed.rnn)
    return ours, ref


def check(num_hiddens=512, activation="tanh", verbose=True) -> float:
    """Max relative difference of loss, grads, state, probes: both prototypes
    vs the engine's step, and vs autograd on the seed's code (tanh)."""
    ours, ref = _twins(num_hiddens, activation=activation)
    g = torch.Generator().manual_seed(1)
    X = torch.randint(0, 28, (32, 35), generator=g)
    Y = torch.randint(0, 28, (32, 35), generator=g)
    H0 = torch.randn(32, num_hiddens, generator=g) * 0.5
    a = ours.forward_backward(X, Y, (H0,), probe=True)
    seed_grads = seed_loss = None
    if activation == "tanh":   # the seed's own autograd (tanh is the seed's)
        y_hat, _ = ref(X, (H0.clone(),))
        seed_loss = F.cross_entropy(y_hat, Y.T.reshape(-1).long())
        seed_loss.backward()
        seed_grads = [p.grad for p in ref.params]

    def rel(u, v):
        return float((u - v).abs().max() / v.abs().max().clamp_min(1e-30))

    worst_all = 0.0
    for name, fn in (("fast", fast_forward_backward), ("split", split_forward_backward)):
        b = fn(ours, X, Y, (H0,), probe=True)
        worst = {"loss": rel(b.loss, a.loss), "state": rel(b.state[0], a.state[0]),
                 "Hs": rel(b.Hs, a.Hs), "dH": rel(b.dH, a.dH)}
        for n, ga, gb in zip(ours.param_names, a.grads, b.grads):
            worst[f"d{n}"] = rel(gb, ga)
        if seed_grads is not None:
            worst["loss vs seed"] = rel(b.loss, seed_loss.detach())
            worst["grads vs seed"] = max(rel(gb, gs) for gb, gs in zip(b.grads, seed_grads))
        if verbose:
            print(f"  {name:5s} h{num_hiddens} {activation}: max relative difference vs engine "
                  + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
        worst_all = max(worst_all, *worst.values())
    return worst_all


# ------------------------------------------------------------------ timing
def _batches(num_hiddens):
    """Real d2l minibatches (sequential) so the chain sees the book's tokens."""
    import random as _r

    from charrnn import data
    corpus = data.load_corpus("timemachine", "d2l", 10000)
    return list(data.batches(corpus.corpus, 32, 35, False, _r.Random(0)))


def time_step(fn, model, batches, n):
    """n minibatches of fn + seed clipping + SGD (probes off); tokens/s."""
    from charrnn.train import grad_clipping
    state = model.begin_state(32)
    t0 = time.perf_counter()
    for i in range(n):
        X, Y = batches[i % len(batches)]
        out = fn(model, X, Y, state)
        state = out.state
        grad_clipping(out.grads, 1.0)
        with torch.no_grad():
            torch._foreach_add_(model.params, out.grads, alpha=-1.0)
        float(out.loss)
    return n * X.numel() / (time.perf_counter() - t0)


def compile_experiment(reps=5, hiddens=(512, 128)):
    """torch.compile of the fast step: cold compile time (empty inductor cache)
    and tokens/s against the same step eager, alternated; probes off."""
    import os
    import tempfile
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-bench-")
    torch.set_num_threads(1)
    print("\n## torch.compile of the fast step (cold cache, 1 thread)\n")
    print("| hidden | first call (compile) | eager fast | compiled | compiled / eager | "
          "max rel. diff of grads |")
    print("|---|---|---|---|---|---|")
    for Hn in hiddens:
        batches = _batches(Hn)
        torch.manual_seed(0)
        m_e = ScratchRNN(28, Hn, "cpu")
        torch.manual_seed(0)
        m_c = ScratchRNN(28, Hn, "cpu")
        compiled_rows = torch.compile(_rows, dynamic=False)

        def comp(model, X, Y, state, probe=False):
            loss_sum, grads, HT, _, _, _ = compiled_rows(model, X, Y, state[0], X.numel(), False)
            return StepOut(loss_sum / X.numel(), grads, (HT,))

        X, Y = batches[0]
        t0 = time.perf_counter()
        out_c = comp(m_c, X, Y, m_c.begin_state(32))
        t_compile = time.perf_counter() - t0
        out_e = fast_forward_backward(m_e, X, Y, m_e.begin_state(32))
        diff = max(float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))
                   for a, b in zip(out_c.grads, out_e.grads))
        n = 20 if Hn >= 256 else 80
        time_step(comp, m_c, batches, 3)
        res = {"eager": [], "compiled": []}
        ratios = []
        for r in range(reps):
            order = [("eager", fast_forward_backward, m_e), ("compiled", comp, m_c)]
            if r % 2:
                order.reverse()
            row = {}
            for k, fn, m in order:
                row[k] = time_step(fn, m, batches, n)
                res[k].append(row[k])
            ratios.append(row["compiled"] / row["eager"])
        print(f"| {Hn} | {t_compile:.1f} s | {statistics.median(res['eager']):,.0f} | "
              f"{statistics.median(res['compiled']):,.0f} | {statistics.median(ratios):.2f}x | "
              f"{diff:.1e} |")


def profile_ops(Hn, n=20):
    """torch.profiler's table of the engine's step and of the fast step."""
    import random as _r

    from torch.profiler import ProfilerActivity, profile

    from charrnn import data
    torch.set_num_threads(1)
    corpus = data.load_corpus("timemachine", "d2l", 10000)
    X, Y = next(data.batches(corpus.corpus, 32, 35, False, _r.Random(0)))
    for name, fn in (("engine", lambda m, *a: ScratchRNN.forward_backward(m, *a)),
                     ("fast", fast_forward_backward)):
        torch.manual_seed(0)
        m = ScratchRNN(28, Hn, "cpu")
        st = m.begin_state(32)
        for _ in range(5):
            fn(m, X, Y, st)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            for _ in range(n):
                fn(m, X, Y, st)
        print(f"\n### {name} step, h{Hn}, {n} calls\n")
        print(prof.key_averages(group_by_input_shape=True).table(
            sort_by="self_cpu_time_total", row_limit=14, max_name_column_width=20,
            max_shapes_column_width=44))


def gemm_layouts(reps=7, n=200):
    """The chain's GEMM, (32 x H) @ (H x H), with the right operand contiguous
    or a transposed view (what model.py's backward passes as W_hh.T)."""
    torch.set_num_threads(1)
    print("\nthe backward chain's GEMM, one thread, microseconds (median of "
          f"{reps} alternated runs of {n}):\n")
    print("| hidden | B contiguous | B = W.T (a transposed view) | view / contiguous | "
          "one W.T.contiguous() copy |")
    print("|---|---|---|---|---|")
    for Hn in (512, 128):
        g = torch.Generator().manual_seed(0)
        W = torch.randn(Hn, Hn, generator=g) * 0.05
        A = torch.randn(32, Hn, generator=g)
        C = torch.randn(32, Hn, generator=g)
        WT = W.T.contiguous()
        out = torch.empty(32, Hn)

        def run(B, k=n):
            t0 = time.perf_counter()
            for _ in range(k):
                torch.addmm(C, A, B, out=out)
            return (time.perf_counter() - t0) / k * 1e6
        run(WT, 20), run(W.T, 20)
        cont, view, cp = [], [], []
        for r in range(reps):
            for which in (("c", "v") if r % 2 == 0 else ("v", "c")):
                (cont if which == "c" else view).append(run(WT if which == "c" else W.T))
            t0 = time.perf_counter()
            for _ in range(20):
                W.T.contiguous()
            cp.append((time.perf_counter() - t0) / 20 * 1e6)
        c, v = statistics.median(cont), statistics.median(view)
        print(f"| {Hn} | {c:.1f} | {v:.1f} | {v / c:.2f}x | {statistics.median(cp):.1f} |")


def main(argv=None):
    p = argparse.ArgumentParser(description="prototype exact step: check and time")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=None)
    p.add_argument("--profile", type=int, nargs="*", default=None,
                   help="only torch.profiler op tables of both steps at these sizes")
    p.add_argument("--compile", action="store_true",
                   help="only the torch.compile experiment (cold compile: minutes)")
    a = p.parse_args(argv)
    reps = a.reps or (3 if a.quick else 9)
    torch.set_num_threads(1)   # the split step needs it (see split_forward_backward)
    if a.compile:
        compile_experiment(reps=3 if a.quick else 5)
        return
    if a.profile:
        for Hn in a.profile:
            profile_ops(Hn)
        return
    print("equality (prototypes vs the engine's step and vs the seed's autograd):")
    ok = all(check(h, act) < 1e-4 for h in (512, 128) for act in ("tanh", "relu"))
    print("  OK (all < 1e-4 relative)" if ok else "  MISMATCH")
    gemm_layouts(3 if a.quick else 7)
    engine = ScratchRNN.forward_backward
    # (name, step function, torch threads)
    variants = [("engine t1", lambda m, X, Y, s: engine(m, X, Y, s), 1),
                ("fast t1", fast_forward_backward, 1),
                ("engine t2", lambda m, X, Y, s: engine(m, X, Y, s), 2),
                ("fast t2", fast_forward_backward, 2),
                ("split 2x t1", split_forward_backward, 1)]
    names = [v[0] for v in variants]
    print(f"\ntokens/s, probes off, {reps} alternated repetitions, medians; ratio = "
          "median over repetitions of (variant / engine t1 of the same repetition):")
    print("| hidden | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for Hn in (512, 128):
        batches = _batches(Hn)
        n = (8 if a.quick else 20) if Hn == 512 else (30 if a.quick else 80)
        res = {k: [] for k in names}
        ratios = {k: [] for k in names}
        models = {}
        for k, fn, th in variants:
            torch.set_num_threads(th)
            torch.manual_seed(0)
            models[k] = ScratchRNN(28, Hn, "cpu")
            time_step(fn, models[k], batches, 3)  # warm-up
        for r in range(reps):
            order = variants if r % 2 == 0 else variants[::-1]
            row = {}
            for k, fn, th in order:
                torch.set_num_threads(th)
                row[k] = time_step(fn, models[k], batches, n)
                res[k].append(row[k])
            for k in names:
                ratios[k].append(row[k] / row["engine t1"])
        print(f"| {Hn} | " + " | ".join(
            f"{statistics.median(res[k]):,.0f} ({statistics.median(ratios[k]):.2f}x)"
            for k in names) + " |")
    torch.set_num_threads(1)


if __name__ == "__main__":
    main()
