"""The scratch RNN's exact BPTT for one minibatch, optionally split over cores.

`rows_bptt` is the whole training step of some rows of a minibatch: forward
all num_steps steps, the output layer and cross-entropy, then ONE backward
through time. It equals the seed's autograd (tests/test_engine.py):
- one-hot @ W_xh is row selection, the output layer and dW_hh are one GEMM
  each over all steps; only the H_t chain is sequential;
- one (T+1, B, H) buffer for H_0..H_T, updated in place, its steps' views
  made once (`unbind`): indexing inside the loop would cost an op per step;
- a contiguous copy of W_hh^T for the backward chain (MKL's product with a
  transposed view is slower for these shapes);
- dL/dH_t accumulates in place, all paths (through the output and through
  H_{t+1}).

Rows of a minibatch never interact in an RNN (each sample keeps its own
hidden state) and the mean cross-entropy's gradient is a sum over rows, so
`forward_backward` can give groups of rows to several CPU cores (one Python
thread each) and add their gradients; only the order of the float additions
changes (rel. 1e-6). On the CPU the step is compiled with TorchScript: its
interpreter runs the ops without holding Python's GIL, which is what lets two
row groups run at once (the same ops in Python contend for the GIL).
tests/bench/RESULTS.md sections 11 and 12 have the figures.
"""
import atexit
import functools
import queue
import threading
import warnings
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch.nn import functional as F

from .threads import same_threads_as_torch


class RowsOut(NamedTuple):
    """`rows_bptt`'s result by name (TorchScript returns it as a plain tuple;
    `_group` names it)."""
    loss_sum: torch.Tensor   # cross-entropy summed over these rows
    dW_xh: torch.Tensor
    dW_hh: torch.Tensor
    db_h: torch.Tensor
    dW_hq: torch.Tensor
    db_q: torch.Tensor
    H_T: torch.Tensor        # (rows, num_hiddens) the state after the last step
    Hs: torch.Tensor         # probe: (steps with a loss, kept rows, num_hiddens)
    dH: torch.Tensor         # probe: (steps with a loss,) ||dL/dH_t|| over these rows
    H_in: torch.Tensor       # probe: (kept rows, num_hiddens) the state entering them

    @property
    def grads(self) -> list:
        return [self.dW_xh, self.dW_hh, self.db_h, self.dW_hq, self.db_q]


@dataclass
class StepOut:
    """One minibatch's training step, for any model (charrnn/model.py)."""
    loss: torch.Tensor           # scalar, mean cross-entropy
    grads: list                  # one per parameter, same order as params
    state: tuple                 # detached state after the last step
    # when probing; "rows": the batch rows probed (all, or the list given as `probe`)
    Hs: Optional[torch.Tensor] = None    # (num_steps, rows, num_hiddens)
    dH: Optional[torch.Tensor] = None    # (num_steps,) ||dL/dH_t|| over the whole batch
    H_in: Optional[torch.Tensor] = None  # (rows, num_hiddens): the state entering the minibatch
    Cs: Optional[torch.Tensor] = None    # LSTM only: (num_steps, rows, num_hiddens) cell states


def rows_bptt(X: torch.Tensor, Y: torch.Tensor, H0: torch.Tensor, lo: int, hi: int,
              W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor, W_hq: torch.Tensor,
              b_q: torch.Tensor,
              N: int, warmup: int, relu: bool, cpu: bool, probe: bool,
              keep: Optional[torch.Tensor], work: torch.Tensor
              ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                         torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fields of `RowsOut`, as a plain tuple (what TorchScript returns):
    loss summed over these rows, the five gradients, H_T, then the probe's:
    H_t of the steps with a loss, ||dL/dH_t|| over these rows for those steps,
    the state entering them. The probe's three are empty unless
    `probe`; with `keep` (row numbers) H_t and the state are of those rows only.
    The probe's reductions run here, in the compiled step: as separate Python
    ops after it they cost 10% of a probed step at 128 hidden units.
    `work` is scratch space of at least `work_size(...)` elements (`scratch`):
    nothing returned is a view of it.

    Rows lo:hi of X, Y and H0 are this group's (cut here: a Python op costs
    more than a compiled one). N is the token count of the WHOLE minibatch
    (the mean divides by it). With
    `warmup` w the first w steps only carry the state (no output, no loss)
    while the gradient still flows through them: backpropagation through
    earlier minibatches (no detach)."""
    X, Y, H0 = X.narrow(0, lo, hi - lo), Y.narrow(0, lo, hi - lo), H0.narrow(0, lo, hi - lo)
    B, T = X.shape[0], X.shape[1]
    L = T - warmup                                     # steps with a loss
    Hn = W_hh.shape[0]
    XT = X.t().reshape(-1)
    # forward: Hbuf[t+1] = act(X_t W_xh + b_h + H_t W_hh), X_t W_xh written once
    n = T * B * Hn
    Hbuf = work[:n + B * Hn].view(T + 1, B, Hn)
    dA = work[n + B * Hn:2 * n + B * Hn].view(T, B, Hn)
    dH = work[2 * n + B * Hn:3 * n + B * Hn].view(T, B, Hn)
    W_hhT = work[3 * n + B * Hn:3 * n + B * Hn + Hn * Hn].view(Hn, Hn)
    Hbuf[0].copy_(H0)
    Hs = Hbuf[1:]
    torch.index_select(W_xh, 0, XT, out=Hs.view(T * B, Hn))
    Hs.add_(b_h)
    Hl = Hbuf.unbind(0)       # views made once: indexing in the loop is an op per step
    for t in range(T):
        h = Hl[t + 1].addmm_(Hl[t], W_hh)
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
        dH[:warmup].zero_()
    torch.mm(dlogits, W_hq.t(), out=dH[warmup:].view(L * B, Hn))  # through the output only
    # derivative of the activation at every step, in one op
    if relu:
        dA.copy_(Hs > 0)
    else:
        torch.mul(Hs, Hs, out=dA)
        dA.neg_().add_(1.0)                            # 1 - H_t^2
    W_hhT.copy_(W_hh.t())
    dAl, dHl = dA.unbind(0), dH.unbind(0)
    for t in range(T - 1, 0, -1):                      # dH[t] becomes dL/dH_t, all paths
        dHl[t - 1].addmm_(dAl[t].mul_(dHl[t]), W_hhT)
    dAl[0].mul_(dHl[0])
    dAflat = dA.view(T * B, Hn)
    Hprev = Hbuf[:-1].reshape(T * B, Hn)               # a view: no cat
    dW_hh = Hprev.t() @ dAflat                         # one GEMM over all steps
    db_h = dAflat.sum(0)
    if cpu:
        dW_xh = torch.zeros_like(W_xh).index_add_(0, XT, dAflat)
    else:  # index_add_ uses atomics on GPUs (not reproducible); a GEMM is
        dW_xh = F.one_hot(XT, W_xh.shape[0]).to(dAflat.dtype).t() @ dAflat
    H_T = Hbuf[T].clone()
    if not probe:
        none = H_T.new_empty(0)
        return loss_sum, dW_xh, dW_hh, db_h, dW_hq, db_q, H_T, none, none, none
    dH_norm = torch.linalg.vector_norm(dH[warmup:].reshape(L, -1), 2.0, 1)
    if keep is None:
        Hs_kept, H_in = Hs[warmup:].clone(), Hbuf[warmup].clone()
    else:
        Hs_kept, H_in = Hs[warmup:].index_select(1, keep), Hbuf[warmup].index_select(0, keep)
    return loss_sum, dW_xh, dW_hh, db_h, dW_hq, db_q, H_T, Hs_kept, dH_norm, H_in


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


def work_size(B: int, T: int, num_hiddens: int) -> int:
    """Scratch elements `rows_bptt` needs for B rows and T steps: H_0..H_T, the
    activation's derivative and dL/dH_t of every step, and W_hh^T."""
    return (3 * T + 1) * B * num_hiddens + num_hiddens * num_hiddens


_scratch = threading.local()
MAX_KEPT = 1 << 24   # elements (64 MB of float32): a bigger one is not kept


def scratch(n: int, like: torch.Tensor) -> torch.Tensor:
    """This thread's scratch space of at least n elements, kept between steps.

    Buffers allocated afresh each step go back to the system between steps
    and page-fault in again (mmapped afresh, where the mmap threshold is
    fixed: charrnn/memory.py). One buffer per thread (a thread runs one step
    at a time; nothing a step returns is a view of it) costs nothing per step."""
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.numel() < n or buf.device != like.device or buf.dtype != like.dtype:
        buf = like.new_empty(n)
        _scratch.buf = buf if n <= MAX_KEPT else None
    return buf


_rows_cpu = _script(rows_bptt)
# GPUs keep the Python function: nothing to gain there from leaving the GIL,
# and the graph executor's fusers must not change a GPU step's floats
_RUNNERS = {True: _rows_cpu, False: rows_bptt}


class _Helper:
    """A thread that runs row groups for any training thread, one at a time.
    A queue in and a queue per job out (C queues, cheaper than
    ThreadPoolExecutor's futures and conditions, which are Python)."""

    def __init__(self, i: int):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=f"bptt-rows-{i}", daemon=True)
        self.thread.start()

    def submit(self, args) -> queue.SimpleQueue:
        box: queue.SimpleQueue = queue.SimpleQueue()
        self.jobs.put((args, box))
        return box

    def _run(self):
        same_threads_as_torch()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            args, box = job
            try:
                box.put((True, _group(*args)))
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller
                box.put((False, exc))


def _result(box: queue.SimpleQueue):
    ok, value = box.get()
    if not ok:
        raise value
    return value


HELPER_EXIT_S = 300.0   # the most an exit waits for a helper's group (never in practice)
_helper_list: List[_Helper] = []
_helpers_lock = threading.Lock()


@atexit.register
def _stop_helpers():
    """Let a helper finish the group in hand before the interpreter goes: an
    exit while a helper is inside the compiled step aborts ("terminate called
    without an active exception") instead of ending cleanly."""
    with _helpers_lock:
        helpers = list(_helper_list)
    for h in helpers:
        h.jobs.put(None)
    for h in helpers:   # a group takes milliseconds; on a machine busy with other
        h.thread.join(HELPER_EXIT_S)   # work much longer, and leaving early aborts


def _helpers(n: int) -> List[_Helper]:
    """n helper threads, started once per process and shared by all runs."""
    with _helpers_lock:
        while len(_helper_list) < n:
            _helper_list.append(_Helper(len(_helper_list)))
        return _helper_list[:n]


def _work_for(X, H0, lo: int, hi: int):
    return scratch(work_size(hi - lo, X.shape[1], H0.shape[1]), H0)


def _group(run, keep, args) -> RowsOut:
    """One row group's step (on a helper thread or here), its result named.
    When probing, `keep` is (Hs_all, H_in_all, dst): the group's kept rows go
    to positions dst of them."""
    # inference mode, not just no_grad: every op then skips autograd's
    # dispatch (the mode is per thread: a helper's grad mode is on by default)
    with torch.inference_mode():
        _interpret_only()
        out = RowsOut(*run(*args, _work_for(args[0], args[2], args[3], args[4])))
        if keep is not None:
            Hs_all, H_in_all, dst = keep
            if dst.numel():
                Hs_all.index_copy_(1, dst, out.Hs)
                H_in_all.index_copy_(0, dst, out.H_in)
        return out


@functools.lru_cache(maxsize=64)
def _kept_rows(groups: tuple, rows: tuple):
    """Per row group, (where in the kept rows, which of its own rows), and the
    group that holds every kept row or None: worked out once per lanes and row
    groups (each small torch op is microseconds of Python holding the GIL).
    The holder's own kept rows are all of them, in order, so its output
    serves as is: no tensors to gather them in, no copies. The default lanes
    0-3 sit in the first group."""
    out, holder = [], None
    for i, (a, b) in enumerate(groups):
        at = [j for j, r in enumerate(rows) if a <= r < b]
        out.append((torch.tensor(at, dtype=torch.long),
                    torch.tensor([rows[j] - a for j in at], dtype=torch.long)))
        if rows and len(at) == len(rows):
            holder = i
    return out, holder


def row_groups(B: int, cores: int) -> List[Tuple[int, int]]:
    """Contiguous row groups as equal as possible, at most one per row."""
    k = max(1, min(cores, B))
    cuts = [B * i // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


def forward_backward(params, X, Y, H0, relu: bool, warmup: int = 0, probe=False,
                     cores: int = 1) -> StepOut:
    """Loss, gradients, state (and the probe's Hs, dH norms, H_in) of one minibatch. `probe`:
    False, True (Hs and H_in of every row) or row numbers (Hs and H_in of those
    rows only, in that order: a snapshot shows a few lanes). dH is over all
    rows either way; Hs, dH and H_in are None unless probing. `cores` > 1
    splits the rows over that many CPU threads (ignored on other devices)."""
    cpu = X.device.type == "cpu"
    run = _RUNNERS[cpu]
    N = Y.numel()
    on = probe is not False
    rows = None if probe is True or not on else tuple(int(r) for r in probe)
    groups = row_groups(X.shape[0], cores if cpu else 1)
    if len(groups) == 1:
        B = X.shape[0]
        keep = None
        if rows is not None:
            (_, own), = _kept_rows(((0, B),), rows)[0]   # the rows themselves
            keep = own.to(X.device)
        out = _group(run, None, (X, Y, H0, 0, B, *params, N, warmup, relu, cpu, on, keep))
        step = StepOut(out.loss_sum / N, out.grads, (out.H_T,))
        if on:
            step.Hs, step.dH, step.H_in = out.Hs, out.dH, out.H_in
        return step
    if rows is None:
        rows = tuple(range(X.shape[0])) if on else ()
    where, holder = _kept_rows(tuple(groups), rows)
    keeps = [None] * len(groups)
    if on and holder is None:
        L = X.shape[1] - warmup
        Hs_all = H0.new_empty((L, len(rows), H0.shape[1]))
        H_in_all = H0.new_empty((len(rows), H0.shape[1]))
        keeps = [(Hs_all, H_in_all, dst) for dst, _ in where]
    jobs = [(run, keep, (X, Y, H0, lo, hi, *params, N, warmup, relu, cpu, on, src))
            for (lo, hi), keep, (_, src) in zip(groups, keeps, where)]
    boxes = [h.submit(job) for h, job in zip(_helpers(len(groups) - 1), jobs[1:])]
    parts = [_group(*jobs[0])] + [_result(box) for box in boxes]
    grads = parts[0].grads
    for p in parts[1:]:
        torch._foreach_add_(grads, p.grads)
    loss = parts[0].loss_sum
    for p in parts[1:]:
        loss = loss + p.loss_sum
    step = StepOut(loss / N, grads, (torch.cat([p.H_T for p in parts]),))
    if not on:
        return step
    dH = parts[0].dH
    for p in parts[1:]:
        dH = torch.hypot(dH, p.dH)     # sqrt(a^2 + b^2): the norm over both groups' rows
    if holder is not None:
        Hs_all, H_in_all = parts[holder].Hs, parts[holder].H_in
    step.Hs, step.dH, step.H_in = Hs_all, dH, H_in_all
    return step
