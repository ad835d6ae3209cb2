"""The engine against the seed's own code (tests/seed_reference.py)."""
import math
import os
import random
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from charrnn import data
from charrnn.config import RunConfig
from charrnn.events import End, Epoch, Snapshot, Spectral, Step
from charrnn.generate import predict
from charrnn.model import DeviceError, ScratchRNN, TorchRNN, resolve_device
from charrnn.train import Trainer, grad_clipping
from tests import seed_reference as seed

BOOK = Path(os.environ["CHARRNN_DATA_DIR"]) / "timemachine.txt"


@pytest.fixture(scope="module")
def book():
    return data.load_corpus("timemachine", "d2l", -1)


def test_book_has_d2l_sizes_and_indices(book):
    ref_corpus, ref_vocab = seed.load_corpus_time_machine(BOOK)
    assert book.name == "The Time Machine" and book.warning is None
    assert book.num_tokens == 170580 == len(ref_corpus)
    assert len(book.vocab) == 28 == len(ref_vocab)
    assert book.vocab.idx_to_token == ref_vocab.idx_to_token
    assert book.corpus == ref_corpus
    assert book.vocab.idx_to_token[:4] == ["<unk>", " ", "e", "t"]


def test_max_tokens_truncates_after_building_the_vocab():
    c = data.load_corpus("timemachine", "d2l", 10000)
    ref_corpus, _ = seed.load_corpus_time_machine(BOOK, 10000)
    assert c.num_tokens == 10000 and c.corpus == ref_corpus and len(c.vocab) == 28


@pytest.mark.parametrize("random_iter", [False, True])
def test_partitioning_equals_d2l(book, random_iter):
    corpus = book.corpus[:3000]
    random.seed(7)
    fn = seed.seq_data_iter_random if random_iter else seed.seq_data_iter_sequential
    ref = list(fn(corpus, 4, 7))
    ours = list(data.batches(corpus, 4, 7, random_iter, random.Random(7)))
    assert len(ours) == len(ref) > 10
    for (X, Y), (RX, RY) in zip(ours, ref):
        assert torch.equal(X, RX) and torch.equal(Y, RY)


def test_sequential_rows_continue_across_minibatches():
    corpus = list(range(35))
    out = list(data.seq_data_iter_sequential(corpus, 2, 5, random.Random(3)))
    for (X0, Y0), (X1, _) in zip(out, out[1:]):
        assert torch.equal(X1[:, 0], X0[:, -1] + 1)  # row i of k+1 continues row i of k
        assert torch.equal(Y0, X0 + 1)


def test_random_minibatches_are_label_shifted_subsequences():
    corpus = list(range(200))
    for X, Y in data.seq_data_iter_random(corpus, 3, 5, random.Random(1)):
        assert torch.equal(Y, X + 1)
        assert torch.equal(X[:, 1:] - X[:, :-1], torch.ones(3, 4, dtype=X.dtype))


def _twin_models(vocab_size=28, num_hiddens=64, seed_=0):
    torch.manual_seed(seed_)
    ref = seed.RNNModelScratch(vocab_size, num_hiddens, "cpu", seed.get_params,
                               seed.init_rnn_state, seed.rnn)
    torch.manual_seed(seed_)
    ours = ScratchRNN(vocab_size, num_hiddens, "cpu")
    for a, b in zip(ours.params, ref.params):
        assert torch.equal(a, b)  # same initialisation from the same seed
    return ours, ref


def test_scratch_forward_is_the_seeds():
    ours, ref = _twin_models()
    X = torch.randint(0, 28, (3, 6))
    state = ours.begin_state(3)
    Yo, (Ho,) = ours(X, state)
    Yr, (Hr,) = ref(X, ref.begin_state(3, "cpu"))
    assert Yo.shape == (18, 28)
    torch.testing.assert_close(Yo, Yr, rtol=0, atol=0)
    torch.testing.assert_close(Ho, Hr, rtol=0, atol=0)


@pytest.mark.parametrize("num_hiddens", [64, 512])
def test_fast_bptt_equals_autograd_on_the_seed(num_hiddens):
    ours, ref = _twin_models(num_hiddens=num_hiddens)
    g = torch.Generator().manual_seed(1)
    X = torch.randint(0, 28, (32, 35), generator=g)
    Y = torch.randint(0, 28, (32, 35), generator=g)
    H0 = torch.randn(32, num_hiddens, generator=g) * 0.5
    out = ours.forward_backward(X, Y, (H0,), probe=True)
    y_hat, (H,) = ref(X, (H0.clone(),))
    loss = F.cross_entropy(y_hat, Y.T.reshape(-1).long()).mean()
    loss.backward()
    torch.testing.assert_close(out.loss, loss.detach(), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out.state[0], H.detach(), rtol=1e-5, atol=1e-6)
    for g_ours, p in zip(out.grads, ref.params):
        torch.testing.assert_close(g_ours, p.grad, rtol=1e-4, atol=1e-7)
    assert out.Hs.shape == (35, 32, num_hiddens) and out.dH.shape == (35,)


def test_relu_bptt_equals_autograd():
    """The lecture's ReLU variant: same step, max(0, .) instead of tanh."""
    torch.manual_seed(0)
    ours = ScratchRNN(28, 96, "cpu", activation="relu")
    W_xh, W_hh, b_h, W_hq, b_q = ref = [p.detach().clone().requires_grad_() for p in ours.params]
    g = torch.Generator().manual_seed(2)
    X = torch.randint(0, 28, (8, 12), generator=g)
    Y = torch.randint(0, 28, (8, 12), generator=g)
    H = H0 = torch.randn(8, 96, generator=g)
    out = ours.forward_backward(X, Y, (H0,), probe=True)
    outs = []
    for X_t in F.one_hot(X.T, 28).float():
        H = torch.relu(X_t @ W_xh + H @ W_hh + b_h)
        outs.append(H @ W_hq + b_q)
    loss = F.cross_entropy(torch.cat(outs), Y.T.reshape(-1))
    loss.backward()
    assert (out.Hs == 0).any()  # some units are cut off: the mask matters
    torch.testing.assert_close(out.loss, loss.detach(), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out.state[0], H.detach(), rtol=1e-5, atol=1e-6)
    for g_ours, p in zip(out.grads, ref):
        torch.testing.assert_close(g_ours, p.grad, rtol=1e-4, atol=1e-7)


def test_dH_probe_is_the_gradient_of_the_loss_wrt_each_hidden_state():
    ours, ref = _twin_models(num_hiddens=16)
    X = torch.randint(0, 28, (4, 6))
    Y = torch.randint(0, 28, (4, 6))
    out = ours.forward_backward(X, Y, ours.begin_state(4), probe=True)
    # autograd with every H_t retained
    W_xh, W_hh, b_h, W_hq, b_q = ref.params
    H = torch.zeros(4, 16)
    Hs, outs = [], []
    for X_t in F.one_hot(X.T, 28).float():
        H = torch.tanh(X_t @ W_xh + H @ W_hh + b_h)
        H.retain_grad()
        Hs.append(H)
        outs.append(H @ W_hq + b_q)
    F.cross_entropy(torch.cat(outs), Y.T.reshape(-1)).backward()
    expected = torch.stack([h.grad.norm() for h in Hs])
    torch.testing.assert_close(out.dH, expected, rtol=1e-5, atol=1e-9)
    # gradients shrink going back in time at initialisation: vanishing is visible
    assert out.dH[0] < out.dH[-1]


@pytest.mark.parametrize("theta", [1.0, 1e-3, 1e6])
def test_clipping_equals_the_seed_and_clip_grad_norm(theta):
    g = torch.Generator().manual_seed(2)
    grads = [torch.randn(5, 7, generator=g), torch.randn(7, generator=g) * 3]
    ref_p = [torch.zeros_like(x, requires_grad=True) for x in grads]
    for p, x in zip(ref_p, grads):
        p.grad = x.clone()
    net = type("Net", (), {"params": ref_p})()
    seed.grad_clipping(net, theta)
    tch = [x.clone().requires_grad_() for x in grads]
    for p, x in zip(tch, grads):
        p.grad = x.clone()
    total = torch.nn.utils.clip_grad_norm_(tch, theta)
    ours = [x.clone() for x in grads]
    norm, sq = grad_clipping(ours, theta)
    torch.testing.assert_close(norm, total)
    torch.testing.assert_close(sq.sum().sqrt(), total)
    for o, r, t in zip(ours, ref_p, tch):
        torch.testing.assert_close(o, r.grad, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(o, t.grad, rtol=1e-5, atol=1e-6)
    after = torch.sqrt(sum((o * o).sum() for o in ours))
    assert float(after) == pytest.approx(min(float(norm), theta), rel=1e-5)


# two epochs of d2l 8.5 on the start of the book: small enough for a test
TWO_EPOCHS = dict(num_hiddens=64, num_epochs=2, max_tokens=3000, batch_size=8, num_steps=10,
                  lr=1.0, theta=1.0, seed=5, device="cpu")


def seeds_two_epochs(random_iter):
    """d2l's own training loop (tests/seed_reference.py) on TWO_EPOCHS: its
    perplexity per epoch and its trained net."""
    c = TWO_EPOCHS
    torch.manual_seed(c["seed"])
    random.seed(c["seed"])
    corpus, vocab = seed.load_corpus_time_machine(BOOK, c["max_tokens"])
    net = seed.RNNModelScratch(len(vocab), c["num_hiddens"], "cpu", seed.get_params,
                               seed.init_rnn_state, seed.rnn)
    it = seed.seq_data_iter_random if random_iter else seed.seq_data_iter_sequential

    def updater(batch_size):
        seed.sgd(net.params, c["lr"], batch_size)
    ppl = [seed.train_epoch_ch8(net, it(corpus, c["batch_size"], c["num_steps"]),
                                torch.nn.CrossEntropyLoss(), updater, "cpu", random_iter)
           for _ in range(c["num_epochs"])]
    return ppl, net


@pytest.mark.parametrize("random_iter", [False, True])
def test_training_follows_the_seeds_loss_curve(random_iter):
    """Two epochs of d2l's training loop vs ours: same perplexities and weights."""
    trainer = Trainer(RunConfig(**TWO_EPOCHS, random_iter=random_iter).validate())
    ours = [ev.perplexity for ev in trainer.events() if isinstance(ev, Epoch)]
    ref, net = seeds_two_epochs(random_iter)
    assert ours == pytest.approx(ref, rel=1e-4)
    for a, b in zip(trainer.model.params, net.params):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-3, atol=1e-5)


def test_d2ls_own_loop_continues_from_a_model_we_trained():
    """Our step runs in inference mode (it skips autograd's dispatch); the
    model it trains must stay an ordinary one. d2l's autograd loop takes over
    after two epochs and its third epoch matches d2l's own third."""
    trainer = Trainer(RunConfig(**TWO_EPOCHS).validate())
    for _ in trainer.events():
        pass
    ours = trainer.model.params
    assert not any(p.is_inference() for p in ours) and all(p.requires_grad for p in ours)
    _, ref = seeds_two_epochs(False)
    corpus, vocab = seed.load_corpus_time_machine(BOOK, TWO_EPOCHS["max_tokens"])
    c, third = TWO_EPOCHS, []
    for net_params in (ours, ref.params):
        random.seed(11)   # the same offset into the book for both
        net = seed.RNNModelScratch(len(vocab), c["num_hiddens"], "cpu",
                                   lambda *_: net_params, seed.init_rnn_state, seed.rnn)
        third.append(seed.train_epoch_ch8(
            net, seed.seq_data_iter_sequential(corpus, c["batch_size"], c["num_steps"]),
            torch.nn.CrossEntropyLoss(),
            lambda batch_size: seed.sgd(net_params, c["lr"], batch_size), "cpu", False))
    assert third[0] == pytest.approx(third[1], rel=1e-4)


def test_records_hold_the_probes():
    cfg = RunConfig(num_hiddens=32, num_epochs=1, max_tokens=2000, batch_size=4,
                    num_steps=8, theta=0.01, snapshot_every=5, probe_lanes=(0, 2)).validate()
    events = list(Trainer(cfg).events())
    steps = [e for e in events if isinstance(e, Step)]
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert steps and all(s.clipped for s in steps)  # tiny theta clips every step
    assert all(s.grad_norm_clipped == pytest.approx(0.01) for s in steps)
    assert all(s.grad_norm > 0.01 for s in steps)
    assert len(steps[0].param_norms) == 5
    total = math.sqrt(sum(x * x for x in steps[0].param_norms))
    assert total == pytest.approx(steps[0].grad_norm, rel=1e-5)
    assert [s.step for s in snaps[:4]] == [1, 2, 3, 6]  # bursts of consecutive minibatches
    s = snaps[0]
    assert s.H.shape == (2, 8, 32) and s.dH.shape == (8,) and s.lanes == [0, 2]
    assert "".join(s.targets[0][:-1]) == "".join(s.inputs[0][1:])
    # sequential: the state entering minibatch 2 is the last state of minibatch 1
    assert (abs(snaps[1].H0.astype(float) - s.H[:, -1].astype(float)) < 1e-2).all()
    assert events[-1] == End("finished", "")


def test_no_clipping_when_theta_is_off():
    cfg = RunConfig(num_hiddens=32, num_epochs=1, max_tokens=2000, batch_size=4,
                    num_steps=8, theta=0).validate()
    steps = [e for e in Trainer(cfg).events() if isinstance(e, Step)]
    assert not any(s.clipped for s in steps)
    assert all(s.grad_norm == s.grad_norm_clipped for s in steps)


def test_huge_lr_without_clipping_diverges_with_a_reason():
    """lr 1e6, no clipping: the loss jumps to ~1e8 yet stays finite."""
    cfg = RunConfig(num_epochs=50, lr=1e6, theta=None, max_tokens=10000).validate()
    events = list(Trainer(cfg).events())
    end = events[-1]
    assert isinstance(end, End) and end.status == "diverged"
    assert "Diverged at step" in end.message and "ln|V|" in end.message
    losses = [e.loss for e in events if isinstance(e, Step)]
    assert max(losses) > 1e3 and len(losses) < 50


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_torch_models_probe_loop_equals_the_fused_kernel(kind):
    torch.manual_seed(0)
    m = TorchRNN(kind, 28, 16, "cpu")
    X = torch.randint(0, 28, (4, 7))
    Y = torch.randint(0, 28, (4, 7))
    a = m.forward_backward(X, Y, m.begin_state(4), probe=False)
    ga = [g.clone() for g in a.grads]
    b = m.forward_backward(X, Y, m.begin_state(4), probe=True)
    torch.testing.assert_close(a.loss, b.loss, rtol=1e-6, atol=1e-6)
    for x, y in zip(ga, b.grads):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-6)
    assert b.Hs.shape == (7, 4, 16) and b.dH.shape == (7,)
    assert m.param_names[:2] == ["W_ih", "W_hh"] and "b_hh" in m.param_names


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_torch_models_train_and_snapshot(kind):
    cfg = RunConfig(model=kind, num_hiddens=16, num_epochs=2, max_tokens=1500,
                    batch_size=4, num_steps=6, snapshot_every=4).validate()
    events = list(Trainer(cfg).events())
    assert events[-1].status == "finished"
    assert any(isinstance(e, Snapshot) for e in events)
    assert any(isinstance(e, Spectral) for e in events)


def test_predict_is_predict_ch8():
    ours, ref = _twin_models(num_hiddens=32)
    vocab = data.load_corpus("timemachine", "d2l", 10000).vocab
    got = predict("time traveller", 20, ours, vocab, "cpu", tokens="d2l")
    assert got.text == seed.predict_ch8("time traveller", 20, ref, vocab, "cpu")
    assert got.generated == got.text[len("time traveller"):] and len(got.generated) == 20


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_generation_step_is_the_seeds_forward_to_the_bit(activation):
    """predict() feeds one token at a time through `step_logits` (row selection
    instead of the one-hot product): every logit and state must be the seed
    forward's, for a trained model, over a long generation."""
    cfg = RunConfig(**{**TWO_EPOCHS, "activation": activation}).validate()
    trainer = Trainer(cfg)
    for _ in trainer.events():
        pass
    m = trainer.model
    a = b = m.begin_state(1)
    token = trainer.vocab["t"]
    for _ in range(200):
        ya, a = m(torch.tensor([[token]]), a)
        yb, b = m.step_logits(token, b)
        assert torch.equal(ya, yb) and torch.equal(a[0], b[0])
        token = int(ya.argmax())


def test_predict_handles_unknown_characters_and_temperature():
    ours, _ = _twin_models(num_hiddens=32)
    vocab = data.load_corpus("timemachine", "d2l", 10000).vocab
    got = predict("Time, Traveller!", 5, ours, vocab, "cpu", tokens="d2l")
    assert got.prefix == "time traveller " and not got.unknown  # d2l preprocessing
    raw = predict("日本x", 5, ours, vocab, "cpu", tokens="raw", temperature=0.8, top_k=3,
                  generator=torch.Generator().manual_seed(0))
    assert raw.unknown == ["日", "本"] and len(raw.top_chars) == 5
    assert all(len(p) == 3 and p == sorted(p, reverse=True) for p in raw.top_probs)


def test_a_seeded_temperature_sample_repeats():
    """The Generate page's seed: the same seed writes the same text."""
    ours, _ = _twin_models(num_hiddens=32)
    vocab = data.load_corpus("timemachine", "d2l", 10000).vocab
    texts = [predict("time ", 40, ours, vocab, "cpu", tokens="d2l", temperature=1.5,
                     seed=s).generated for s in (7, 7, 8)]
    assert texts[0] == texts[1] != texts[2]


def test_unavailable_device_is_a_clear_error():
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="not available"):
            resolve_device("cuda")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")


def test_seed_makes_runs_reproducible():
    cfg = RunConfig(num_hiddens=32, num_epochs=2, max_tokens=2000, batch_size=4,
                    num_steps=8, random_iter=True, seed=3).validate()
    a = [e.loss for e in Trainer(cfg).events() if isinstance(e, Step)]
    b = [e.loss for e in Trainer(cfg).events() if isinstance(e, Step)]
    assert a == b


def test_batched_probe_flush_gives_the_same_events_as_per_step():
    """On a GPU probe values reach the host 16 steps at a time; nothing may be lost."""
    cfg = RunConfig(num_hiddens=32, num_epochs=3, max_tokens=3000, batch_size=4,
                    num_steps=8, snapshot_every=7, seed=1).validate()
    per_step = Trainer(cfg)
    batched = Trainer(cfg)
    batched.flush_every = 5
    a = [e for e in per_step.events() if isinstance(e, (Step, Epoch))]
    b = [e for e in batched.events() if isinstance(e, (Step, Epoch))]
    assert [type(e) for e in a] == [type(e) for e in b]
    assert [e.step for e in b if isinstance(e, Step)] == list(range(1, per_step.step + 1))
    for x, y in zip(a, b):
        assert (getattr(x, "loss", None) == getattr(y, "loss", None)
                and getattr(x, "perplexity", None) == getattr(y, "perplexity", None))


def test_no_detach_backprops_through_earlier_minibatches_exactly():
    """warmup steps carry the state and pass the gradient, but have no loss."""
    ours, ref = _twin_models(num_hiddens=24)
    X = torch.randint(0, 28, (3, 12))
    Y = torch.randint(0, 28, (3, 4))           # loss on the last 4 steps only
    out = ours.forward_backward(X, Y, ours.begin_state(3), probe=True, warmup=8)
    W_xh, W_hh, b_h, W_hq, b_q = ref.params
    H = torch.zeros(3, 24)
    outs = []
    for t, X_t in enumerate(F.one_hot(X.T, 28).float()):
        H = torch.tanh(X_t @ W_xh + H @ W_hh + b_h)
        if t >= 8:
            outs.append(H @ W_hq + b_q)
    loss = F.cross_entropy(torch.cat(outs), Y.T.reshape(-1))
    loss.backward()
    torch.testing.assert_close(out.loss, loss.detach(), rtol=1e-6, atol=1e-7)
    for g, p in zip(out.grads, ref.params):
        torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-7)
    assert out.Hs.shape == (4, 3, 24) and out.dH.shape == (4,)


def test_no_detach_run_trains_and_costs_more_steps_of_backprop():
    cfg = RunConfig(num_hiddens=32, num_epochs=2, max_tokens=2000, batch_size=4,
                    num_steps=8, detach=False, snapshot_every=2).validate()
    events = list(Trainer(cfg).events())
    assert events[-1].status == "finished"
    snaps = [e for e in events if isinstance(e, Snapshot)]
    # the state entering minibatch 2 is the (recomputed) last state of minibatch 1
    assert (abs(snaps[1].H0.astype(float) - snaps[0].H[:, -1].astype(float)) < 2e-2).all()
    with pytest.raises(Exception, match="sequential"):
        RunConfig(detach=False, random_iter=True).validate()


def test_the_spectrum_stays_within_its_time_budget(monkeypatch):
    """eigvals of W_hh is O(H^3): it may not eat the training time it watches."""
    import charrnn.train as T
    cfg = RunConfig(num_hiddens=16, batch_size=4, num_steps=5, max_tokens=3000,
                    num_epochs=3, spectral_every=1).validate()
    real = T.Trainer._spectral

    def costing(seconds):
        def spectral(self):
            out = real(self)
            self._spectral_cost = seconds
            return out
        return spectral

    def events():
        trainer = T.Trainer(cfg)
        trainer.spectrum_in_background = False  # the inline path (GPUs, OpenMP threads)
        return list(trainer.events())
    monkeypatch.setattr(T.Trainer, "_spectral", costing(1.0))  # as if each took a second
    evs = events()
    steps = sum(isinstance(e, Step) for e in evs)
    spectra = [e.step for e in evs if isinstance(e, Spectral)]
    assert steps > 100 and spectra == [1]  # 20 s of training would pay for the next
    monkeypatch.setattr(T.Trainer, "_spectral", costing(0.0))  # free: every spectral_every
    assert sum(isinstance(e, Spectral) for e in events()) == steps
