"""The engine on a CUDA GPU (skipped where there is none; run on a lent GPU)."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from charrnn import cuda_graph
from charrnn.config import RunConfig
from charrnn.events import Snapshot, Start, Step
from charrnn.model import DeviceError, ScratchRNN, TorchRNN, resolve_device
from charrnn.train import Trainer, grad_clipping
from tests import seed_reference as seed

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")


def test_cuda_devices_resolve_and_a_missing_index_is_refused():
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceError, match="CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_fast_bptt_equals_the_seed_on_the_gpu():
    torch.manual_seed(0)
    ref = seed.RNNModelScratch(28, 512, "cuda", seed.get_params, seed.init_rnn_state, seed.rnn)
    ours = ScratchRNN(28, 512, "cuda")
    with torch.no_grad():
        for a, b in zip(ours.params, ref.params):
            a.copy_(b)
    X = torch.randint(0, 28, (32, 35), device="cuda")
    Y = torch.randint(0, 28, (32, 35), device="cuda")
    out = ours.forward_backward(X, Y, ours.begin_state(32), probe=True)
    y_hat, _ = ref(X, ref.begin_state(32, "cuda"))
    F.cross_entropy(y_hat, Y.T.reshape(-1)).backward()
    torch.testing.assert_close(out.loss, F.cross_entropy(y_hat, Y.T.reshape(-1)).detach(),
                               rtol=1e-5, atol=1e-5)
    for g, p in zip(out.grads, ref.params):
        torch.testing.assert_close(g, p.grad, rtol=1e-3, atol=1e-6)


def test_a_training_step_makes_no_host_sync():
    """Probe values are flushed in batches; the step itself never waits for the GPU."""
    m = ScratchRNN(28, 64, "cuda")
    X = torch.randint(0, 28, (8, 10), device="cuda")
    Y = torch.randint(0, 28, (8, 10), device="cuda")
    state = m.begin_state(8)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            out = m.forward_backward(X, Y, state)
            state = out.state
            norm, sq = grad_clipping(out.grads, 1.0)
            with torch.no_grad():
                torch._foreach_add_(m.params, out.grads, alpha=-1.0)
    finally:
        torch.cuda.set_sync_debug_mode(0)


def _steps(cfg, n):
    """The first n step events and the trained weights."""
    tr = Trainer(cfg)
    out = []
    for ev in tr.events():
        if isinstance(ev, Start):
            mode = ev.step_mode
        if isinstance(ev, Step):
            out.append(ev)
    assert len(out) >= n
    return mode, out[:n], [p.detach().clone() for p in tr.model.params]


def test_the_captured_step_equals_the_eager_step_for_20_steps(monkeypatch):
    """d2l's settings, probes on (snapshots every 10 steps): the graph's
    losses, gradient norms and weights are the eager GPU step's."""
    cfg = RunConfig(num_epochs=3, device="cuda").validate()   # 8 minibatches an epoch
    mode_g, graph, w_g = _steps(cfg, 20)
    monkeypatch.setenv("CHARRNN_CUDA_GRAPH", "0")
    mode_e, eager, w_e = _steps(cfg, 20)
    assert (mode_g, mode_e) == ("cuda_graph", "eager")
    for key in ("loss", "grad_norm", "param_norms"):
        np.testing.assert_allclose([getattr(s, key) for s in graph],
                                   [getattr(s, key) for s in eager], rtol=1e-6, atol=0)
    for a, b in zip(w_g, w_e):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_the_captured_run_follows_the_cpu_engine():
    cfg = RunConfig(num_epochs=3, device="cuda").validate()
    mode, gpu, _ = _steps(cfg, 24)
    cfg.device = "cpu"
    _, cpu, _ = _steps(cfg, 24)
    assert mode == "cuda_graph"
    np.testing.assert_allclose([s.loss for s in gpu], [s.loss for s in cpu], rtol=1e-4)


def test_a_captured_step_makes_no_host_sync():
    """Inputs in, replay, stats and the snapshot's values out: nothing waits
    for the GPU (the trainer reads them back 16 steps at a time)."""
    m = ScratchRNN(28, 64, "cuda")
    g = cuda_graph.GraphStep(m, 8, 10, 1.0, 1.0, grad_clipping)
    assert g.prepare([False, (0, 1)]) is None
    X, Y = torch.randint(0, 28, (8, 10)), torch.randint(0, 28, (8, 10))
    state = m.begin_state(8)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        kept = []
        for keep in (False, [0, 1], False):
            out, stats = g.step(X, Y, state, keep)
            state = out.state
            kept.append(stats)
        Xd, Yd = cuda_graph.to_device(X, Y, torch.device("cuda"))
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert out.state[0] is g.H0 and Xd.device.type == "cuda" and torch.equal(Xd.cpu(), X)
    assert torch.isfinite(torch.stack(kept)).all()


@pytest.mark.parametrize("model", ["scratch", "rnn", "gru", "lstm"])
def test_training_on_the_gpu_finishes_with_probes(model):
    cfg = RunConfig(model=model, num_hiddens=64, num_epochs=3, max_tokens=5000,
                    device="cuda", snapshot_every=4).validate()
    events = list(Trainer(cfg).events())
    assert events[0].step_mode == ("cuda_graph" if model == "scratch" else "eager")
    assert events[-1].status == "finished"
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == list(range(1, len(steps) + 1))  # batched flush keeps order
    assert any(isinstance(e, Snapshot) for e in events)


def test_divergence_is_detected_on_the_gpu():
    cfg = RunConfig(num_epochs=50, lr=1e6, theta=None, device="cuda").validate()
    end = list(Trainer(cfg).events())[-1]
    assert end.status == "diverged" and "Diverged at step" in end.message


def test_torch_models_probe_loop_matches_fused_on_gpu():
    torch.manual_seed(0)
    m = TorchRNN("lstm", 28, 32, "cuda")
    X = torch.randint(0, 28, (4, 7), device="cuda")
    Y = torch.randint(0, 28, (4, 7), device="cuda")
    a = m.forward_backward(X, Y, m.begin_state(4), probe=False)
    ga = [g.clone() for g in a.grads]
    b = m.forward_backward(X, Y, m.begin_state(4), probe=True)
    for x, y in zip(ga, b.grads):
        torch.testing.assert_close(x, y, rtol=1e-3, atol=1e-5)
