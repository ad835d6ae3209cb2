"""Training on more than one core: the minibatch's rows split over threads, the
spectrum off the training thread, and the thread settings that choose them."""
import os
import random
import sys
import threading

import pytest
import torch

from charrnn import bptt, data, threads
from charrnn.config import RunConfig
from charrnn.events import End, Epoch, Spectral, Step
from charrnn.model import ScratchRNN
from charrnn.train import Trainer
from tests.test_engine import TWO_EPOCHS, seeds_two_epochs


@pytest.fixture
def cores():
    """Set the process's training cores like the CLI does; restore afterwards."""
    saved = threads._cores, threads._chosen, torch.get_num_threads()

    def use(n):
        threads.configure_threads(n)
        return n
    yield use
    threads._cores, threads._chosen = saved[:2]
    torch.set_num_threads(saved[2])


def _step(model, X, Y, H0, cores, probe=True, **kw):
    model.cores = cores
    return model.forward_backward(X, Y, (H0,), probe=probe, **kw)


@pytest.mark.parametrize("activation,warmup,probe", [
    ("tanh", 0, True), ("relu", 0, True), ("tanh", 6, True),
    # probe lanes: all in the first group, all in the last one (their group's
    # output is used as is), and across groups out of order (gathered)
    ("tanh", 0, (0, 2)), ("tanh", 6, (5, 6)), ("tanh", 0, (5, 1, 3))])
@pytest.mark.parametrize("n", [2, 3])
def test_rows_split_over_cores_give_the_same_step(activation, warmup, probe, n):
    """7 rows in 2 or 3 groups (uneven): loss, every gradient, the carried
    state and the probes equal the one-group step (only the order of float
    additions differs)."""
    torch.manual_seed(0)
    model = ScratchRNN(28, 48, "cpu", activation)
    g = torch.Generator().manual_seed(4)
    X = torch.randint(0, 28, (7, 10 + warmup), generator=g)
    Y = torch.randint(0, 28, (7, 10), generator=g)
    H0 = torch.randn(7, 48, generator=g) * 0.5
    one = _step(model, X, Y, H0, 1, probe, warmup=warmup)
    split = _step(model, X, Y, H0, n, probe, warmup=warmup)
    torch.testing.assert_close(split.loss, one.loss, rtol=1e-6, atol=1e-7)
    for a, b in zip(split.grads, one.grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    for a, b in [(split.state[0], one.state[0]), (split.Hs, one.Hs), (split.dH, one.dH),
                 (split.H_in, one.H_in)]:
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_the_cpu_step_is_compiled_and_bitwise_the_python_one():
    """TorchScript is what lets two row groups run at once (its interpreter does
    not hold the GIL); it must not change a float (a whole run: below)."""
    assert isinstance(bptt._RUNNERS[True], torch.jit.ScriptFunction)
    torch.manual_seed(1)
    model = ScratchRNN(28, 32, "cpu")
    X = torch.randint(0, 28, (5, 9))
    Y = torch.randint(0, 28, (5, 9))
    H0 = torch.randn(5, 32)
    work = torch.empty(bptt.work_size(5, 9, 32))
    with torch.no_grad():
        for probe in (False, True):
            args = (X, Y, H0, 0, 5, *model.params, Y.numel(), 0, False, True, probe, None, work)
            plain = bptt.rows_bptt(*args)
            for _ in range(4):
                scripted = bptt._RUNNERS[True](*args)
                assert all(torch.equal(a, b) for a, b in zip(plain, scripted))


@pytest.mark.parametrize("warmup", [0, 4])
def test_the_gpu_branch_of_the_step_equals_the_cpu_one(warmup):
    """On a GPU the step runs as the Python function with dW_xh as a one-hot
    GEMM (index_add_ is not reproducible there). Run here on the CPU, that
    branch must give the CPU branch's numbers, probes included (the GPU tests
    need a GPU; this one keeps the branch honest without one)."""
    torch.manual_seed(3)
    model = ScratchRNN(28, 24, "cpu")
    g = torch.Generator().manual_seed(5)
    X = torch.randint(0, 28, (6, 7 + warmup), generator=g)
    Y = torch.randint(0, 28, (6, 7), generator=g)
    H0 = torch.randn(6, 24, generator=g) * 0.3
    keep = torch.tensor([5, 2])
    with torch.no_grad():
        outs = [bptt.rows_bptt(X, Y, H0, 0, 6, *model.params, Y.numel(), warmup, False, cpu,
                               True, keep, torch.empty(bptt.work_size(6, 7 + warmup, 24)))
                for cpu in (True, False)]
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    assert outs[1][7].shape == (7, 2, 24) and outs[1][9].shape == (2, 24)


def test_d2l_training_is_bitwise_the_python_steps(monkeypatch, cores):
    """d2l's config for three epochs: the same losses to the last bit with the
    compiled step and with the plain Python one (with the graph executor's
    optimisations on they parted at step 18)."""
    cores(1)
    cfg = RunConfig(num_epochs=3, max_tokens=10_000, seed=0).validate()   # h512, b32, T35

    def losses():
        return [e.loss for e in Trainer(cfg).events() if isinstance(e, Step)]
    compiled = losses()
    monkeypatch.setitem(bptt._RUNNERS, True, bptt.rows_bptt)
    assert losses() == compiled and len(compiled) == 24


@pytest.mark.parametrize("random_iter", [False, True])
def test_training_on_two_cores_follows_the_seeds_loss_curve(cores, random_iter):
    cores(2)
    trainer = Trainer(RunConfig(**TWO_EPOCHS, random_iter=random_iter).validate())
    assert trainer.model.cores == 2 and torch.get_num_threads() == 1
    ours = [ev.perplexity for ev in trainer.events() if isinstance(ev, Epoch)]
    ref, _ = seeds_two_epochs(random_iter)
    assert ours == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("n", [1, 2])
def test_a_step_returns_nothing_that_the_next_step_overwrites(n):
    """The step's buffers are reused (bptt.scratch): what a step returned must
    survive the next one (the Trainer keeps a snapshot's H_t; tests compare
    two steps' outputs)."""
    torch.manual_seed(0)
    model = ScratchRNN(28, 40, "cpu")
    model.cores = n
    g = torch.Generator().manual_seed(7)
    X, Y = torch.randint(0, 28, (6, 9), generator=g), torch.randint(0, 28, (6, 9), generator=g)
    for probe in (True, [4, 1]):
        first = model.forward_backward(X, Y, (torch.randn(6, 40, generator=g),), probe=probe)
        kept = [t.clone() for t in (first.loss, *first.grads, first.state[0], first.Hs,
                                    first.dH, first.H_in)]
        model.forward_backward(X.flip(1), Y, (torch.randn(6, 40, generator=g),), probe=probe)
        now = (first.loss, *first.grads, first.state[0], first.Hs, first.dH, first.H_in)
        assert all(torch.equal(a, b) for a, b in zip(kept, now))


def test_an_error_in_a_helper_row_group_reaches_the_training_thread(monkeypatch):
    """A failure on the helper thread is raised in the step (the run then fails
    with its message), and the helper goes on serving the next steps."""
    torch.manual_seed(0)
    model = ScratchRNN(28, 16, "cpu")
    model.cores = 2
    X, Y = torch.randint(0, 28, (4, 5)), torch.randint(0, 28, (4, 5))

    def broken(X, Y, H0, lo, *rest):
        if lo > 0:
            raise RuntimeError("helper group failed")
        return bptt.rows_bptt(X, Y, H0, lo, *rest)
    monkeypatch.setitem(bptt._RUNNERS, True, broken)
    with pytest.raises(RuntimeError, match="helper group failed"):
        model.forward_backward(X, Y, model.begin_state(4))
    monkeypatch.undo()
    out = model.forward_backward(X, Y, model.begin_state(4))
    assert torch.isfinite(out.loss)


def test_a_step_does_not_map_fresh_memory_under_the_apps_malloc_settings():
    """The app fixes glibc's mmap threshold at 128 KB (charrnn/memory.py).
    A step that allocated its (T+1, B, H) buffers afresh then page-faulted
    ~500 pages at 256 hidden units (20% of a step at 128): now it reuses them."""
    resource = pytest.importorskip("resource")
    if not hasattr(resource, "RUSAGE_THREAD"):
        pytest.skip("per-thread page-fault counts are Linux's")
    from charrnn.memory import tame_malloc
    tame_malloc()   # what app.py does first in the server
    torch.manual_seed(0)
    model = ScratchRNN(28, 256, "cpu")
    X, Y = torch.randint(0, 28, (16, 35)), torch.randint(0, 28, (16, 35))
    state = model.begin_state(16)
    for _ in range(3):
        state = model.forward_backward(X, Y, state).state
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(10):
        state = model.forward_backward(X, Y, state).state
    faults = (resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before) / 10
    # dW_hh (256 KB) is the only big fresh tensor a step returns: 64 pages
    assert faults < 150, faults


def test_nn_models_keep_one_torch_thread_unless_asked(cores, monkeypatch):
    """OpenMP's threads collapse when another process wants a core, so the
    default never gives them more than one; --threads does."""
    monkeypatch.delenv("CHARRNN_THREADS", raising=False)
    monkeypatch.setattr(threads, "machine_cores", lambda: 8)
    assert threads.configure_threads(headless=True) == 2
    cfg = RunConfig(model="gru", num_hiddens=8, num_epochs=1, max_tokens=1500,
                    batch_size=4, num_steps=5).validate()
    Trainer(cfg)
    assert torch.get_num_threads() == 1
    cores(2)
    assert Trainer(cfg).cores == 1 and torch.get_num_threads() == 2


def test_default_cores_leave_the_browser_a_core_on_small_machines(monkeypatch):
    monkeypatch.delenv("CHARRNN_THREADS", raising=False)
    for machine, app, cli in [(1, 1, 1), (2, 1, 2), (4, 2, 2), (16, 2, 2)]:
        monkeypatch.setattr(threads, "machine_cores", lambda m=machine: m)
        assert (threads.default_threads(False), threads.default_threads(True)) == (app, cli)


def _spectra(background, cfg):
    trainer = Trainer(cfg)
    trainer.spectrum_in_background = background
    if not background:
        trainer._spectral_due = lambda: True  # every step, whatever it costs
    else:  # each one done before the next step, however busy the machine
        finished = trainer._spectra
        trainer._spectra = lambda wait=False: finished(wait=True)
    return {e.step: (e.radius, e.sigma_max)
            for e in trainer.events() if isinstance(e, Spectral)}


def test_background_spectra_are_those_of_their_step(cores):
    """Computed later, on another thread, from a copy of W_hh: each value is
    the one the training thread would have computed at that step."""
    cores(1)
    cfg = RunConfig(num_hiddens=24, batch_size=4, num_steps=6, max_tokens=2000,
                    num_epochs=2, spectral_every=3, seed=2).validate()
    inline = _spectra(False, cfg)
    background = _spectra(True, cfg)
    assert 1 in background and len(background) >= 3
    assert all(step == 1 or step % 3 == 0 for step in background)
    for step, values in background.items():
        assert values == inline[step]


def test_the_spectrum_thread_idles_and_ends_with_the_run(cores):
    cores(1)
    cfg = RunConfig(num_hiddens=24, batch_size=4, num_steps=6, max_tokens=2000,
                    num_epochs=1, spectral_every=1).validate()
    trainer = Trainer(cfg)
    assert trainer.spectrum_in_background
    events = trainer.events()
    next(events)
    next(events)
    tid = trainer._spectrum._thread.native_id
    if sys.platform.startswith("linux"):
        assert os.getpriority(os.PRIO_PROCESS, tid) == 19  # a core's idle time, mostly
    kinds = [type(e) for e in events]
    assert kinds[-1] is End and Spectral in kinds
    assert not any(t.name == "spectrum" and t.is_alive() for t in threading.enumerate())


EXIT_MID_SPECTRUM = """
import sys, torch
from charrnn import spectrum, threads
from charrnn.config import RunConfig
from charrnn.events import Step
from charrnn.train import Trainer
if sys.argv[1] == "unguarded":
    import atexit
    atexit.unregister(spectrum._close_all)
threads.configure_threads(1)
cfg = RunConfig(num_hiddens=512, batch_size=4, num_steps=5, max_tokens=3000,
                spectral_every=1).validate()
events = Trainer(cfg).events()
for ev in events:
    if isinstance(ev, Step) and ev.step == 30:
        break   # the events are never closed: the program just ends
"""


def test_a_program_that_stops_reading_a_run_exits_cleanly():
    """A script (or notebook) that stops reading a Trainer's events and ends
    must not abort while the spectrum thread is inside LAPACK ("terminate
    called without an active exception", exit status 134): 4 in 4 did before
    the thread was closed at exit."""
    import subprocess
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    runs = [subprocess.run([sys.executable, "-c", EXIT_MID_SPECTRUM, "guarded"], env=env,
                           capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr[-300:] for r in runs]


SLOW_GROUP = """import torch
from typing import Optional, Tuple


def slow(X: torch.Tensor, Y: torch.Tensor, H0: torch.Tensor, lo: int, hi: int,
         W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor, W_hq: torch.Tensor,
         b_q: torch.Tensor, N: int, warmup: int, relu: bool, cpu: bool, probe: bool,
         keep: Optional[torch.Tensor], work: torch.Tensor
         ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                    torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    a = torch.full((128, 128), 0.01)
    for _ in range(1500):   # about a second of CPU: far longer than the exit takes
        a = torch.tanh(a @ a)
    return a, a, a, a, a, a, a, a, a, a
"""

EXIT_MID_GROUP = """import atexit, sys, time
sys.path.insert(0, sys.argv[2])
import torch
import slowmod
from charrnn import bptt
from charrnn.model import ScratchRNN
if sys.argv[1] == "unguarded":
    atexit.unregister(bptt._stop_helpers)
import threading
slow = torch.jit.script(slowmod.slow)
inside = threading.Event()

def run(*args):
    if args[3] > 0:
        inside.set()
        return slow(*args)       # the helper's group: long, inside the interpreter
    inside.wait(60)   # not a fixed sleep: on a busy machine the helper starts late
    time.sleep(0.05)
    raise RuntimeError("the training thread's group failed")

bptt._RUNNERS[True] = run
m = ScratchRNN(28, 8, "cpu")
m.cores = 2
X = torch.zeros((4, 3), dtype=torch.long)
try:
    m.forward_backward(X, X, m.begin_state(4))
except RuntimeError:
    pass
print("leaving", flush=True)
"""


def test_a_program_that_fails_mid_step_exits_cleanly(tmp_path):
    """The training thread's group fails (or Ctrl-C arrives) while a helper is
    still inside the compiled step: the program must end with its own exit
    status, not abort in the interpreter's shutdown (the CLI's Ctrl-C did 1
    time in 6 before the helpers were stopped at exit)."""
    import subprocess
    (tmp_path / "slowmod.py").write_text(SLOW_GROUP)
    (tmp_path / "main.py").write_text(EXIT_MID_GROUP)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    # an exit may wait up to bptt.HELPER_EXIT_S for the helper: so may this test
    r = subprocess.run([sys.executable, str(tmp_path / "main.py"), "guarded", str(tmp_path)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "leaving" in r.stdout, r.stderr[-300:]


@pytest.mark.parametrize("random_iter", [False, True])
def test_minibatches_from_a_token_tensor_equal_those_from_the_list(random_iter):
    rng = random.Random(0)
    corpus = [rng.randrange(28) for _ in range(3000)]
    a = list(data.batches(corpus, 5, 7, random_iter, random.Random(9)))
    b = list(data.batches(torch.tensor(corpus), 5, 7, random_iter, random.Random(9)))
    assert len(a) == len(b) > 10
    for (Xa, Ya), (Xb, Yb) in zip(a, b):
        assert torch.equal(Xa, Xb) and torch.equal(Ya, Yb) and Xb.dtype == torch.int64
