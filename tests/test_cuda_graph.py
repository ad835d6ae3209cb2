"""The captured training step (charrnn/cuda_graph.py) without a GPU.

A CUDA graph runs only on a CUDA GPU (tests/test_cuda.py checks the real
one). Here a stand-in graph runs the step's code again at each replay and
writes into the outputs it returned when "captured", as a real graph
writes into its static memory. That checks, on any machine, what the
trainer does with a captured step: the stats of 16 steps pending at once,
the deferred snapshots, the state carried in the graph's own buffer.
"""
import contextlib

import numpy as np
import pytest
import torch

from charrnn import cuda_graph
from charrnn.config import RunConfig
from charrnn.events import Snapshot, Step
from charrnn.model import ScratchRNN, TorchRNN
from charrnn.train import Trainer


class _Stream:
    def __init__(self, *a, **k):
        pass

    def wait_stream(self, other):
        pass


class _Replay:
    """Replays by running the step again into the captured outputs."""

    def __init__(self, graph, key, outs):
        self.graph, self.key, self.outs = graph, key, outs

    def replay(self):
        with torch.inference_mode():   # the step's outputs are inference tensors
            for static, new in zip(self.outs, self.graph._body(self.key)):
                static.copy_(new)


def _fake_capture(self, key, stream):
    """Like a capture, nothing changes: run once for the outputs, then put the
    weights and the state back."""
    saved = [p.detach().clone() for p in self.model.params] + [self.H0.clone()]
    outs = self._body(key)
    with torch.no_grad():
        for p, s in zip(self.model.params + [self.H0], saved):
            p.copy_(s)
    return _Replay(self, key, outs), outs


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(cuda_graph, "why_not", lambda *a: None)
    monkeypatch.setattr(cuda_graph.GraphStep, "_capture", _fake_capture)
    monkeypatch.setattr(torch.cuda, "Stream", _Stream)
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda *a: _Stream())
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self: self)


def _run(cfg, flush_every=16):
    tr = Trainer(cfg)
    tr.flush_every = flush_every   # as on a GPU: 16 steps pending before one read-back
    events = list(tr.events())
    return tr, events


def test_a_captured_step_trains_as_the_eager_step(fake_cuda, monkeypatch):
    """The same losses, gradient norms, snapshots and weights as the eager
    step, with 16 steps' values pending at once: a stats row or a snapshot
    that was the graph's memory, not a copy, would show the last step's."""
    cfg = RunConfig(num_hiddens=32, num_epochs=2, max_tokens=3000, device="cpu",
                    batch_size=8, num_steps=10, snapshot_every=7).validate()
    graph_tr, graph_ev = _run(cfg)
    assert graph_tr.graph is not None and graph_ev[0].step_mode == "cuda_graph"
    monkeypatch.setattr(cuda_graph, "why_not", lambda *a: "step.eager.off")
    eager_tr, eager_ev = _run(cfg)
    assert eager_tr.graph is None
    steps = [[e for e in ev if isinstance(e, Step)] for ev in (graph_ev, eager_ev)]
    assert len(steps[0]) == len(steps[1]) >= 20
    for key in ("loss", "grad_norm"):
        np.testing.assert_allclose([getattr(s, key) for s in steps[0]],
                                   [getattr(s, key) for s in steps[1]], rtol=2e-5)
    losses = [s.loss for s in steps[0]]
    assert len(set(losses)) == len(losses)   # each step's own value
    snaps = [[e for e in ev if isinstance(e, Snapshot)] for ev in (graph_ev, eager_ev)]
    assert [s.step for s in snaps[0]] == [s.step for s in snaps[1]] and len(snaps[0]) >= 6
    for a, b in zip(snaps[0], snaps[1]):
        assert a.epoch == b.epoch
        np.testing.assert_allclose(a.H.astype(np.float32), b.H.astype(np.float32), atol=2e-3)
        np.testing.assert_allclose(a.H0.astype(np.float32), b.H0.astype(np.float32), atol=2e-3)
        np.testing.assert_allclose(a.dH, b.dH, rtol=1e-4)
        assert (a.input_ids == b.input_ids).all()
    for p, q in zip(graph_tr.model.params, eager_tr.model.params):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-4, atol=1e-6)


def test_random_partitioning_starts_each_captured_step_from_zeros(fake_cuda, monkeypatch):
    cfg = RunConfig(num_hiddens=16, num_epochs=2, max_tokens=3000, device="cpu",
                    batch_size=8, num_steps=10, random_iter=True).validate()
    graph_tr, graph_ev = _run(cfg)
    monkeypatch.setattr(cuda_graph, "why_not", lambda *a: "step.eager.off")
    _, eager_ev = _run(cfg)
    a = [e.loss for e in graph_ev if isinstance(e, Step)]
    b = [e.loss for e in eager_ev if isinstance(e, Step)]
    np.testing.assert_allclose(a, b, rtol=2e-5)


def test_a_failed_capture_trains_eagerly_and_says_why(fake_cuda, monkeypatch):
    def broken(self, key, stream):
        raise RuntimeError("operation not permitted when stream is capturing\nmore")
    monkeypatch.setattr(cuda_graph.GraphStep, "_capture", broken)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    cfg = RunConfig(num_hiddens=16, num_epochs=1, max_tokens=3000, device="cpu").validate()
    tr = Trainer(cfg)
    w0 = [p.detach().clone() for p in tr.model.params]
    tr.device = torch.device("cuda")   # the note is for runs on a GPU
    gen = tr.events()
    start = next(gen)
    gen.close()
    assert tr.graph is None and start.step_mode == "eager"
    note = start.step_note
    assert note["key"] == "step.eager.failed"
    assert "capturing it as a CUDA graph failed (RuntimeError: operation not permitted" \
        in note["message"]
    for p, q in zip(tr.model.params, w0):   # the warm-up step was undone
        assert torch.equal(p.detach(), q)


def test_why_a_run_has_no_graph(monkeypatch):
    cuda = torch.device("cuda")
    scratch = ScratchRNN(28, 8, "cpu")
    assert cuda_graph.why_not(scratch, torch.device("cpu"), True) == "step.eager.device"
    assert cuda_graph.why_not(TorchRNN("gru", 28, 8, "cpu"), cuda, True) == "step.eager.model"
    assert cuda_graph.why_not(scratch, cuda, False) == "step.eager.no_detach"
    assert cuda_graph.why_not(scratch, cuda, True) is None
    monkeypatch.setenv("CHARRNN_CUDA_GRAPH", "0")
    assert cuda_graph.why_not(scratch, cuda, True) == "step.eager.off"


def test_a_cpu_run_has_no_note():
    cfg = RunConfig(num_hiddens=8, num_epochs=1, max_tokens=3000, device="cpu").validate()
    gen = Trainer(cfg).events()
    start = next(gen)
    gen.close()
    assert start.step_mode == "eager" and start.step_note is None
