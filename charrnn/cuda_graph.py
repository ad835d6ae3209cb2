"""The scratch model's whole training step as one CUDA graph.

At d2l's sizes a minibatch on a GPU is about 170 small kernels (35 forward
steps, 35 backward, the output layer, clipping, the update), each launched
from Python, and the GPU waits for the launches. Here the step is captured
once per configuration (probed or not, and which rows a snapshot keeps) and
then replayed: one launch per minibatch.

The graph runs the eager GPU step's own code in the same order
(`bptt.rows_bptt`, `train.grad_clipping`, the SGD update, the stats row), so
its floats are the eager step's. It reads X, Y and the entering state from
its static buffers and writes the new state back into the state buffer. What
a caller keeps past the next step it gets as copies: the stats row on the
device, a probed step's H_t, ||dL/dH_t|| and entering state copied to the
host without waiting (valid once the caller has synchronised, which the
trainer's batched flush does).

`why_not()` says why a run cannot have a graph (another device, a torch.nn
model, backpropagation through earlier minibatches, switched off); a capture
that fails leaves the run on the eager step, with the reason
(`GraphStep.prepare`).
"""
from __future__ import annotations

import os

import torch

from . import bptt
from .bptt import RowsOut, StepOut
from .model import ScratchRNN

CAPTURE_SWITCH = "CHARRNN_CUDA_GRAPH"   # "0": the eager step on a GPU too (benchmarks, tests)


def to_device(X: torch.Tensor, Y: torch.Tensor, device: torch.device):
    """X and Y on `device` without a host sync: from pageable memory a copy to
    the GPU waits for the stream (every step waited for the one before); from
    pinned memory it is queued like a kernel."""
    if device.type != "cuda":
        return X.to(device), Y.to(device)
    xy = torch.stack([X, Y]).pin_memory().to(device, non_blocking=True)
    return xy[0], xy[1]


def why_not(model, device: torch.device, detach: bool) -> str | None:
    """The i18n key saying why this run trains with the eager step, or None
    when its step can be a CUDA graph."""
    if device.type != "cuda":
        return "step.eager.device"
    if os.environ.get(CAPTURE_SWITCH, "1").strip() == "0":
        return "step.eager.off"
    if not isinstance(model, ScratchRNN):
        return "step.eager.model"
    if not detach:
        return "step.eager.no_detach"
    return None


class GraphStep:
    """One run's captured steps. `prepare(keeps)` captures one graph per
    probe setting (False: no probe; a tuple: the rows a snapshot shows);
    `step(X, Y, state, keep)` then trains on one minibatch (X, Y on the host)
    and returns (StepOut, stats) as the eager trainer has them: stats =
    [loss, norm before clipping, squared norm of each gradient]."""

    def __init__(self, model: ScratchRNN, batch_size: int, num_steps: int,
                 theta: float | None, lr: float, clip):
        """`clip(grads, theta) -> (norm, squared norms)` clips in place
        (train.grad_clipping: the trainer's own, so the floats are its)."""
        dev = model.device
        self.model, self.theta, self.lr, self.clip = model, theta, lr, clip
        self.XY = torch.zeros((2, batch_size, num_steps), dtype=torch.long, device=dev)
        self.H0 = torch.zeros((batch_size, model.num_hiddens), device=dev)
        # its own scratch (not bptt's per-thread one: a graph keeps the addresses)
        self.work = torch.empty(bptt.work_size(batch_size, num_steps, model.num_hiddens),
                                device=dev)
        self._keep: dict = {}     # probe rows -> a device tensor of them (static)
        self._graphs: dict = {}   # key -> (CUDAGraph, outputs)

    def _body(self, keep):
        """The eager GPU step on the static buffers: bptt.forward_backward's
        single-group path, then Trainer's clipping, update and stats row."""
        m = self.model
        X, Y = self.XY[0], self.XY[1]
        B, N = X.shape[0], Y.numel()
        on = keep is not False
        keep_t = None if keep is True or not on else self._keep[keep]
        with torch.inference_mode():
            r = RowsOut(*bptt.rows_bptt(
                X, Y, self.H0, 0, B, *m.params, N, 0, m.activation != "tanh", False, on,
                keep_t, self.work))
            grads = r.grads
            norm, sq = self.clip(grads, self.theta)
            torch._foreach_add_(m.params, grads, alpha=-self.lr)
            stats = torch.cat([(r.loss_sum / N).reshape(1).float(), norm.reshape(1), sq])
            self.H0.copy_(r.H_T)
        return stats, r.Hs, r.dH, r.H_in

    def prepare(self, keeps) -> str | None:
        """Capture a graph for each probe setting in `keeps`; None, or why
        not (then `step` must not be used). Before capturing, each setting's
        step runs once eagerly (lazy initialisations must happen outside a
        capture) and the weights are put back: training has not started."""
        keys = [self._key(k) for k in keeps]
        side = torch.cuda.Stream(self.model.device)
        saved = [p.detach().clone() for p in self.model.params]
        try:
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for key in keys:
                    self._body(key)
                with torch.no_grad():
                    for p, s in zip(self.model.params, saved):
                        p.copy_(s)
                self.H0.zero_()
            torch.cuda.current_stream().wait_stream(side)
            for key in keys:
                self._graphs[key] = self._capture(key, side)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the eager step
            self._graphs.clear()
            try:
                torch.cuda.synchronize()
            except Exception:  # noqa: BLE001 - a broken context fails the next op anyway
                pass
            with torch.no_grad():
                for p, s in zip(self.model.params, saved):
                    p.copy_(s)
            return f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
        return None

    def _capture(self, key, stream):
        """(graph, its static outputs); recording runs nothing."""
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g, stream=stream, capture_error_mode="thread_local"):
            outs = self._body(key)
        return g, outs

    def _key(self, keep):
        if keep is False or keep is True:
            return keep
        keep = tuple(int(r) for r in keep)
        if keep not in self._keep:
            self._keep[keep] = torch.tensor(keep, dtype=torch.long, device=self.H0.device)
        return keep

    def step(self, X: torch.Tensor, Y: torch.Tensor, state, keep=False):
        """`keep`: False (no probe) or the rows a snapshot shows, as prepared."""
        key = keep if keep is False or keep is True else tuple(int(r) for r in keep)
        g, (stats, Hs, dH, H_in) = self._graphs[key]
        self.XY.copy_(torch.stack([X, Y]).pin_memory(), non_blocking=True)
        if state[0] is not self.H0:
            self.H0.copy_(state[0])
        g.replay()
        stats = stats.clone()   # the graph writes the next step's into the same memory
        out = StepOut(stats[0], [], (self.H0,))
        if key is not False:   # the snapshot's values, to the host without waiting
            out.Hs, out.dH, out.H_in = (t.to("cpu", copy=True, non_blocking=True)
                                        for t in (Hs, dH, H_in))
        return out, stats
