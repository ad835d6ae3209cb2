"""The scratch RNN's exact BPTT for one minibatch, optionally split over cores.

`rows_bptt` is the whole training step of some rows of a minibatch: forward
all num_steps steps, the output layer and cross-entropy, then ONE backward
through time. It equals the seed's autograd (tests/test_engine.py):
- one-hot @ W_xh is row selection, the output layer and dW_hh are one GEMM
  each over all steps; only the H_t chain is sequential;
- one (T+1, B, H) buffer for H_0..H_T, updated in place;
- a contiguous copy of W_hh^T for the backward chain (MKL's product with a
  transposed view is 1.3-1.5x slower for these shapes);
- dL/dH_t accumulates in place, all paths (through the output and through
  H_{t+1}).

Rows of a minibatch never interact in an RNN (each sample keeps its own
hidden state) and the mean cross-entropy's gradient is a sum over rows, so
`forward_backward` can give groups of rows to several CPU cores (one Python
thread each) and add their gradients; only the order of the float additions changes (rel.
1e-6). On the CPU the step is compiled with TorchScript: the interpreter runs
its ~200 ops without holding Python's GIL, which is what lets two row groups run
at once (two Python threads running the same ops in Python contend for the GIL:
measured 2.6x the time of one at 128 hidden units instead of ~1x).
tests/bench/RESULTS.md section 11 has the figures.
"""
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

import torch
from torch.nn import functional as F

from .threads import same_threads_as_torch


def rows_bptt(X: torch.Tensor, Y: torch.Tensor, H0: torch.Tensor, W_xh: torch.Tensor,
              W_hh: torch.Tensor, b_h: torch.Tensor, W_hq: torch.Tensor, b_q: torch.Tensor,
              N: int, warmup: int, relu: bool, cpu: bool
              ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                         torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss summed over these rows, dW_xh, dW_hh, db_h, dW_hq, db_q, H_T, H_t of the
    steps with a loss, dL/dH_t of those steps, the state entering them).

    N is the token count of the WHOLE minibatch (the mean divides by it). With
    `warmup` w the first w steps only carry the state (no output, no loss)
    while the gradient still flows through them: backpropagation through
    earlier minibatches (no detach)."""
    B, T = X.shape[0], X.shape[1]
    L = T - warmup                                     # steps with a loss
    Hn = W_hh.shape[0]
    XT = X.t().reshape(-1)
    # forward: Hbuf[t+1] = act(X_t W_xh + b_h + H_t W_hh), X_t W_xh written once
    Hbuf = torch.empty((T + 1, B, Hn), device=H0.device, dtype=H0.dtype)
    Hbuf[0].copy_(H0)
    Hs = Hbuf[1:]
    torch.index_select(W_xh, 0, XT, out=Hs.view(T * B, Hn))
    Hs.add_(b_h)
    for t in range(T):
        h = Hbuf[t + 1].addmm_(Hbuf[t], W_hh)
        if relu:
            h.clamp_min_(0.0)
        else:
            h.tanh_()
    Hflat = Hs[warmup:].reshape(L * B, Hn)             # a view: Hs is contiguous
    logits = torch.addmm(b_q, Hflat, W_hq)             # all steps at once
    y = Y.t().reshape(-1)
    logp = torch.log_softmax(logits, dim=1)
    loss_sum = -logp.gather(1, y.unsqueeze(1)).sum()
    # backward of mean cross-entropy: (softmax - onehot) / N
    dlogits = logp.exp_()
    dlogits[torch.arange(y.numel(), device=y.device), y] -= 1.0
    dlogits /= N
    dW_hq = Hflat.t() @ dlogits
    db_q = dlogits.sum(0)
    if warmup > 0:
        dH = torch.zeros_like(Hs)
        dH[warmup:] = (dlogits @ W_hq.t()).view(L, B, Hn)
    else:
        dH = (dlogits @ W_hq.t()).view(T, B, Hn)       # through the output only
    # derivative of the activation at every step, in one op
    if relu:
        dA = (Hs > 0).to(Hs.dtype)
    else:
        dA = torch.mul(Hs, Hs)
        dA.neg_().add_(1.0)                            # 1 - H_t^2
    W_hhT = W_hh.t().contiguous()
    for t in range(T - 1, 0, -1):                      # dH[t] becomes dL/dH_t, all paths
        dA[t].mul_(dH[t])
        dH[t - 1].addmm_(dA[t], W_hhT)
    dA[0].mul_(dH[0])
    dAflat = dA.view(T * B, Hn)
    Hprev = Hbuf[:-1].reshape(T * B, Hn)               # a view: no cat
    dW_hh = Hprev.t() @ dAflat                         # one GEMM over all steps
    db_h = dAflat.sum(0)
    if cpu:
        dW_xh = torch.zeros_like(W_xh).index_add_(0, XT, dAflat)
    else:  # index_add_ uses atomics on GPUs (not reproducible); a GEMM is
        dW_xh = F.one_hot(XT, W_xh.shape[0]).to(dAflat.dtype).t() @ dAflat
    return (loss_sum, dW_xh, dW_hh, db_h, dW_hq, db_q, Hbuf[T].clone(), Hs[warmup:],
            dH[warmup:], Hbuf[warmup])


def _script(fn):
    """TorchScript of fn, or fn itself where this torch cannot script it.

    torch 2.13 marks torch.jit.script deprecated (requirements pin torch < 2.14);
    the plain function is the same maths, only GIL-bound."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.script(fn)
    except Exception:  # noqa: BLE001 - any failure to compile keeps the Python step
        return fn


def _interpret_only():
    """The graph executor's optimisations off, in the calling thread (the
    setting is per thread). After a few calls they rewrite the graph and the
    floats drift from the Python step's (a d2l run parted at step 18, its
    perplexity at the 3rd epoch), and they bought no speed here: the
    interpreter alone is what frees the GIL."""
    torch._C._set_graph_executor_optimize(False)


_rows_cpu = _script(rows_bptt)
# GPUs keep the Python function: nothing to gain there from leaving the GIL,
# and the graph executor's fusers must not change a GPU step's floats
_RUNNERS = {True: _rows_cpu, False: rows_bptt}

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _helpers(n: int) -> ThreadPoolExecutor:
    """The helper threads, started once per process (n: how many are needed)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="bptt-rows",
                                       initializer=same_threads_as_torch)
            _pool_size = n
        return _pool


def _group(run, Hs_all, a: int, b: int, *args):
    """One row group's step (on a helper thread or here). When probing, it also
    copies its H_t into rows a:b of Hs_all and returns its part of ||dL/dH_t||,
    so that no thread waits while another does its reductions."""
    with torch.no_grad():  # grad mode is per thread: the helper's is on by default
        _interpret_only()
        out = run(*args)
        if Hs_all is None:
            return out, None
        Hs_all[:, a:b].copy_(out[7])
        dH = out[8]
        return out, torch.linalg.vector_norm(dH.reshape(dH.shape[0], -1), dim=1)


def row_groups(B: int, cores: int) -> List[Tuple[int, int]]:
    """Contiguous row groups as equal as possible, at most one per row."""
    k = max(1, min(cores, B))
    cuts = [B * i // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


def forward_backward(params, X, Y, H0, relu: bool, warmup: int = 0, probe: bool = False,
                     cores: int = 1):
    """(loss, grads, state, Hs, dH norms, H_in) of one minibatch; Hs, dH and H_in
    are None unless probing. `cores` > 1 splits the rows over that many CPU
    threads (ignored on other devices)."""
    cpu = X.device.type == "cpu"
    run = _RUNNERS[cpu]
    N = Y.numel()
    L = X.shape[1] - warmup
    groups = row_groups(X.shape[0], cores if cpu else 1)
    if len(groups) == 1:
        _interpret_only()
        loss_sum, *grads, HT, Hs, dH, H_in = run(X, Y, H0, *params, N, warmup, relu, cpu)
        if not probe:
            return loss_sum / N, grads, (HT,), None, None, None
        return (loss_sum / N, grads, (HT,), Hs,
                torch.linalg.vector_norm(dH.reshape(L, -1), dim=1), H_in)
    Hs_all = H0.new_empty((L, X.shape[0], H0.shape[1])) if probe else None
    pool = _helpers(len(groups) - 1)
    futures = [pool.submit(_group, run, Hs_all, a, b, X[a:b], Y[a:b], H0[a:b], *params, N,
                           warmup, relu, cpu) for a, b in groups[1:]]
    a, b = groups[0]
    done = [_group(run, Hs_all, a, b, X[a:b], Y[a:b], H0[a:b], *params, N, warmup, relu,
                   cpu)]
    done += [f.result() for f in futures]
    parts = [p for p, _ in done]
    grads = list(parts[0][1:6])
    for p in parts[1:]:
        torch._foreach_add_(grads, list(p[1:6]))
    loss = parts[0][0]
    for p in parts[1:]:
        loss = loss + p[0]
    state = (torch.cat([p[6] for p in parts]),)
    if not probe:
        return loss / N, grads, state, None, None, None
    dH = torch.stack([n for _, n in done]).square().sum(0).sqrt()
    return loss / N, grads, state, Hs_all, dH, torch.cat([p[9] for p in parts])
