"""The engine on a CUDA GPU (skipped where there is none; run on a lent GPU)."""
import pytest
import torch
from torch.nn import functional as F

from charrnn.config import RunConfig
from charrnn.events import Snapshot, Step
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


@pytest.mark.parametrize("model", ["scratch", "rnn", "gru", "lstm"])
def test_training_on_the_gpu_finishes_with_probes(model):
    cfg = RunConfig(model=model, num_hiddens=64, num_epochs=3, max_tokens=5000,
                    device="cuda", snapshot_every=4).validate()
    events = list(Trainer(cfg).events())
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
