"""Training with the seed's semantics, and the probes that watch it.

One iteration (d2l's train_epoch_ch8): forward all num_steps steps one token
at a time, mean cross-entropy, ONE backward, clip the global L2 norm of the
gradient to theta, then SGD. Sequential partitioning carries the state
across minibatches (detached); random partitioning starts each minibatch
from zeros.

`Trainer.events()` is a generator of typed events (charrnn/events.py) that
the CLI and the app's worker consume; it never prints and never touches a UI.
Suspending it (a paused run) stops training between two minibatches.
"""
from __future__ import annotations

import functools
import math
import random
import time

import numpy as np
import torch

from . import cuda_graph
from .config import RunConfig
from .data import Corpus, batches, check_length, load_corpus, val_batches, validation_split
from .events import End, Epoch, Sample, Snapshot, Spectral, Start, Step
from .generate import predict
from .i18n import t
from .model import ScratchRNN, make_model, resolve_device
from .spectrum import SpectrumThread, spectrum
from .threads import use_cores
from .weights import StoreError, load_weights

SNAPSHOT_BURST = 3      # consecutive minibatches per snapshot (shows carried state)
DIVERGE_FACTOR = 10.0   # loss above this many times ln|V| ...
DIVERGE_STEPS = 5       # ... for this many steps in a row means diverged
# the spectrum of W_hh (eigvals + SVD) is O(H^3): at most this share of wall time
SPECTRAL_BUDGET = 0.05
CHECKPOINT_S = 30.0     # a checkpoint at every epoch's end, and within an epoch this often


def _with_last(iterable):
    """Yield (X, Y, is_last) so the last minibatch of an epoch can flush."""
    it = iter(iterable)
    try:
        prev = next(it)
    except StopIteration:
        return
    for item in it:
        yield (*prev, False)
        prev = item
    yield (*prev, True)


def _rng_state(saved):
    """random.Random's state from its JSON or pickle form (lists for tuples)."""
    version, internal, gauss = saved
    return int(version), tuple(int(x) for x in internal), gauss


def grad_clipping(grads, theta):
    """The seed's grad_clipping on a list of gradients, without a host sync.

    Returns (norm before, per-parameter squared norms). Scaling by
    min(1, theta/norm) equals the seed's `if norm > theta: g *= theta/norm`.
    """
    # one dot product per gradient: no g*g temporary (a pass over W_hh fewer)
    flat = [g.reshape(-1) for g in grads]
    sq = torch.stack([torch.dot(v, v) for v in flat])
    norm = torch.sqrt(sq.sum())
    if theta is not None:
        scale = torch.clamp(theta / norm, max=1.0)
        with torch.inference_mode():   # the scratch model's gradients are inference tensors
            torch._foreach_mul_(grads, scale)
    return norm, sq


def divergence(loss, grad_norm, vocab_size, high_run):
    """Why a run diverged at this step, as (kind, fields), or None.

    The rule: a non-finite loss or gradient norm, or a loss above
    DIVERGE_FACTOR x ln|V| (ten times a uniform guess) for DIVERGE_STEPS steps
    in a row: with lr 1e6 and no clipping the loss jumps to ~1e8 and stays
    finite, and a model that far above chance is not coming back."""
    if not math.isfinite(loss):
        return "loss_nan", {"value": loss}
    if not math.isfinite(grad_norm):
        return "grad_nan", {"value": grad_norm}
    if high_run >= DIVERGE_STEPS:
        uniform = math.log(vocab_size)
        return "loss_high", {"value": loss, "factor": DIVERGE_FACTOR,
                             "limit": DIVERGE_FACTOR * uniform, "uniform": uniform,
                             "n": DIVERGE_STEPS}
    return None


def diverged_event(kind, step, epoch, **fields) -> End:
    """The End of a diverged run: an English message for logs and the CLI,
    and the reason's fields so a UI can say it in its own language."""
    reason = {"key": f"diverge.{kind}", "step": step, "epoch": epoch, **fields}
    return End("diverged", t(reason["key"], "en", **reason), reason)


class Trainer:
    """`resume`: a `resume_state()` to continue from (same settings): the
    weights, the step and epoch, the data order (the RNG as it was when the
    epoch began and how many of its minibatches were done), the carried state
    and the epoch's running loss. `on_checkpoint(state)` is called at every
    epoch's end and every CHECKPOINT_S within an epoch, between two
    minibatches whose events have all been yielded."""

    def __init__(self, cfg: RunConfig, corpus: Corpus | None = None, resume: dict | None = None):
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.corpus = corpus or load_corpus(cfg.corpus, cfg.tokens, cfg.max_tokens, cfg.text)
        self.split = validation_split(self.corpus, cfg.num_steps, cfg.val_fraction)
        check_length(self.corpus, cfg.batch_size, cfg.num_steps, len(self.split.train))
        self.vocab = self.corpus.vocab
        # a snapshot's ids to tokens in one numpy lookup, not to_tokens per row
        self._tokens = np.array(self.vocab.idx_to_token, dtype=object)
        self._lane_ix = np.asarray(cfg.probe_lanes)   # numpy takes rows by an array faster
        torch.manual_seed(cfg.seed)
        self.model = make_model(cfg.model, len(self.vocab), cfg.num_hiddens, self.device,
                                cfg.activation)
        # the scratch model on the CPU splits a minibatch's rows over the cores
        split = isinstance(self.model, ScratchRNN) and self.device.type == "cpu"
        self.cores = use_cores(split)
        if split:
            self.model.cores = self.cores
        if cfg.init_weights:
            self._load_initial_weights(cfg.init_weights)
        self.rng = random.Random(cfg.seed)
        self.step = 0
        self.epoch = 0
        self.train_time = 0.0
        self._spectral_at = self._spectral_cost = 0.0
        # on the CPU with one torch thread per Python thread, the spectrum runs on
        # its own low-priority thread (charrnn/spectrum.py); with more torch
        # threads a second Python thread would get its own OpenMP team
        # (charrnn/threads.py), so it stays inline within SPECTRAL_BUDGET
        self.spectrum_in_background = self.device.type == "cpu" and torch.get_num_threads() == 1
        self._spectrum: SpectrumThread | None = None
        # host syncs are cheap on the CPU; on a GPU flush probe values in batches
        self.flush_every = 1 if self.device.type == "cpu" else 16
        # on a CUDA GPU the scratch model's step is one CUDA graph (charrnn/cuda_graph.py),
        # captured when the run starts; None: the eager step, and why
        self.graph: cuda_graph.GraphStep | None = None
        self.eager_reason = cuda_graph.why_not(self.model, self.device, cfg.detach)
        self.graph_error = ""
        self.on_checkpoint = None
        self.wall = 0.0   # wall-clock training seconds, pauses excluded: kept by the consumer
        self._at = {"epoch": 1, "pos": 0, "rng": self.rng.getstate(), "state": None,
                    "acc": None, "high_run": 0}   # where the loop stands (resume_state)
        self._logged = 0                           # the last step whose events were yielded
        if resume is not None:
            self._restore(resume)

    def resume_state(self) -> dict | None:
        """Everything needed to continue exactly here; None between a step and
        its events (a GPU's batched flush)."""
        if self._logged != self.step:
            return None
        at = self._at
        state = at["state"]
        return {"step": self.step, "epoch": at["epoch"], "pos": at["pos"],
                "wall": self.wall, "rng": at["rng"], "high_run": at["high_run"],
                "train_time": self.train_time,
                "acc": dict(at["acc"]) if at["acc"] else None,
                "state": None if state is None else [x.detach().cpu().clone() for x in state],
                "weights": {k: v.detach().cpu().clone()
                            for k, v in self.model.state_dict().items()}}

    def _restore(self, r):
        try:
            self.model.load_state_dict(r["weights"])
        except (KeyError, RuntimeError) as exc:
            raise StoreError.of("store.checkpoint_misfit", error=exc.__class__.__name__) from None
        self.step = self._logged = int(r["step"])
        self.train_time = float(r["train_time"])
        self.wall = float(r.get("wall", self.train_time))
        self._spectral_at = self.train_time
        state = r.get("state")
        self._at = {"epoch": int(r["epoch"]), "pos": int(r["pos"]), "rng": r["rng"],
                    "state": None if state is None else tuple(x.to(self.device) for x in state),
                    "acc": r.get("acc"), "high_run": int(r.get("high_run", 0))}
        self.rng.setstate(_rng_state(r["rng"]))

    def _checkpoint(self, controls: int | None = None):
        self._last_checkpoint = time.perf_counter()
        if self.on_checkpoint is not None:
            state = self.resume_state()
            if state is not None and controls is not None:
                state.update(blocked=True, controls=controls)
            self.on_checkpoint(state)

    def checkpoint_now(self, controls: int | None = None):
        """A checkpoint where the loop stands (a Stop between two minibatches).
        `controls`, given when it is taken because the loop now waits (paused,
        or after a granted step): how many of the server's pause, resume and
        step it had read then. The checkpoint says `blocked`, and a run tells
        from the count that its worker waits for what it was last told, not
        for something told before (its events reach the server late)."""
        self._checkpoint(controls)

    def _load_initial_weights(self, path):
        sd = load_weights(path)
        try:
            self.model.load_state_dict(sd)
        except (KeyError, RuntimeError) as exc:
            raise StoreError.of(
                "store.weights_misfit", model=self.cfg.model, num_hiddens=self.cfg.num_hiddens,
                vocab=len(self.vocab), detail=str(exc).splitlines()[0][:200]) from None

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.model.params)

    def predict(self, prefix=None, num_preds=None, **kw):
        return predict(prefix or self.cfg.prefix, num_preds or self.cfg.num_preds,
                       self.model, self.vocab, self.device, tokens=self.cfg.tokens, **kw)

    def val_perplexity(self) -> float:
        """Perplexity of the current weights on the held-out text (no gradient,
        the run's partitioning: sequential carries the state, random does not);
        NaN when the run has no held-out text."""
        if not self.split.val:
            return math.nan
        cfg, model = self.cfg, self.model
        loss_sum, n = 0.0, 0
        state = None
        with torch.inference_mode():
            for X, Y in val_batches(self.split.val, cfg.batch_size, cfg.num_steps,
                                    cfg.random_iter):
                X, Y = X.to(self.device), Y.to(self.device)
                if state is None or cfg.random_iter:
                    state = model.begin_state(X.shape[0], self.device)
                out, state = model.logits(X, state)
                loss_sum += float(torch.nn.functional.cross_entropy(
                    out, Y.T.reshape(-1).long(), reduction="sum"))
                n += Y.numel()
        if n == 0:
            return math.nan
        return math.exp(loss_sum / n) if loss_sum / n < 700 else math.inf

    def _prepare_graph(self):
        """Capture the step's graphs (probed and not) before the first step."""
        if self.eager_reason is not None:
            return
        graph = cuda_graph.GraphStep(self.model, self.cfg.batch_size, self.cfg.num_steps,
                                     self.cfg.theta, self.cfg.lr, grad_clipping)
        error = graph.prepare([False, tuple(self.cfg.probe_lanes)])
        if error is None:
            self.graph = graph
        else:
            self.eager_reason, self.graph_error = "step.eager.failed", error

    def _step_note(self) -> dict | None:
        """Why a run on a CUDA GPU trains with the eager step (None otherwise)."""
        if self.device.type != "cuda" or self.eager_reason is None:
            return None
        reason = {"key": self.eager_reason, "error": self.graph_error}
        return {**reason, "message": t(reason["key"], "en", **reason)}

    def _snapshot(self, X, Y, state_in, out, step, epoch) -> Snapshot:
        """The probe lanes' view of a step probed with `probe=<the lanes>`, as
        small host arrays. Written for few torch ops (each is microseconds of
        Python, and 3 steps in 10 take a snapshot).
        Built when the step's values reach the host (`_flush`): on a GPU that
        is the batched flush, not a sync of its own."""
        lanes = list(self.cfg.probe_lanes)   # out.Hs holds these rows only
        if out.H_in is not None:
            H0 = out.H_in
        else:
            H0 = state_in[0].reshape(-1, X.shape[0], self.cfg.num_hiddens)[-1]
            H0 = H0[torch.tensor(lanes, device=H0.device)]
        Xl, Yl = X.cpu().numpy()[self._lane_ix], Y.cpu().numpy()[self._lane_ix]
        # float16 on the host in one op each (torch converts with the CPU's
        # vector units; numpy does not). Right after a step every op runs on
        # cold caches: the fewer, the better.
        H = out.Hs.transpose(0, 1).to("cpu", torch.float16, memory_format=torch.contiguous_format)
        H0_16 = H0.to("cpu", torch.float16)
        return Snapshot(
            step=step, epoch=epoch, lanes=lanes, H=H.numpy(), H0=H0_16.numpy(),
            input_ids=Xl, target_ids=Yl,
            inputs=self._tokens[Xl].tolist(), targets=self._tokens[Yl].tolist(),
            dH=np.asarray(out.dH.cpu().numpy(), dtype=np.float32),   # a fresh tensor: no copy
            C=None if out.Cs is None else out.Cs.transpose(0, 1).to("cpu", torch.float16).numpy())

    def _spectral_due(self) -> bool:
        """Step 1, then every spectral_every steps unless the training time
        since the last one is too short to pay for another within
        SPECTRAL_BUDGET (training time: a paused run or a busy machine does
        not make it cheaper), and in the background only once the last one
        is done. Even at idle priority it takes cache and memory bandwidth
        from the training threads, hence the budget there too."""
        if self.step == 1:
            return True
        if self.step % self.cfg.spectral_every:
            return False
        if self._spectrum is not None:
            if self._spectrum.busy:
                return False
            self._spectral_cost = self._spectrum.cost
        since = self.train_time - self._spectral_at
        return since * SPECTRAL_BUDGET >= self._spectral_cost

    def _spectral(self):
        t0 = time.perf_counter()
        radius, sigma = spectrum(self.model.recurrent_matrix())
        self._spectral_cost = time.perf_counter() - t0
        self._spectral_at = self.train_time
        return Spectral(self.step, radius, sigma)

    def _flush(self, pending, epoch, acc, V, high_limit):
        """Bring a batch of steps' probe values to the host (one sync) and
        yield their events; returns True when the run diverged."""
        cfg = self.cfg
        t1 = time.perf_counter()
        if len(pending) == 1 and pending[0][1].device.type == "cpu":
            values = [pending[0][1].tolist()]   # every step on the CPU: no stack, no copy
        else:
            values = torch.stack([p[1] for p in pending]).cpu().tolist()
        flush_dt = time.perf_counter() - t1
        for (step, _, ntok, snap, dt), row in zip(pending, values):
            dt += flush_dt / len(pending)  # on a GPU the work finishes during the sync
            if snap is not None:   # the probe's cost is training time
                t1 = time.perf_counter()
                snap = snap()
                dt += time.perf_counter() - t1
            loss, gnorm = row[0], row[1]
            clipped = cfg.theta is not None and gnorm > cfg.theta
            acc["loss_sum"] += loss * ntok
            acc["n_tok"] += ntok
            acc["time"] += dt
            self.train_time += dt
            acc["high_run"] = acc["high_run"] + 1 if loss > high_limit else 0
            self._logged = step
            yield Step(
                step=step, epoch=epoch, loss=loss, grad_norm=gnorm,
                grad_norm_clipped=min(gnorm, cfg.theta) if clipped else gnorm,
                clipped=clipped, param_norms=[math.sqrt(x) for x in row[2:]],
                tokens_per_s=ntok / dt if dt > 0 else 0.0, time=self.train_time)
            if snap is not None:
                yield snap
            reason = divergence(loss, gnorm, V, acc["high_run"])
            if reason:
                yield diverged_event(reason[0], step, epoch, **reason[1])
                return True
        return False

    def _wants_probe(self, step):
        return (step - 1) % self.cfg.snapshot_every < SNAPSHOT_BURST

    def events(self):
        """Yield Start, then per minibatch a Step (and a Snapshot when probed,
        Spectral now and then), per epoch an Epoch and maybe a Sample, and one End."""
        if self.spectrum_in_background:
            self._spectrum = SpectrumThread()
        self._prepare_graph()
        try:
            yield from self._events()
        finally:  # finished, diverged, or closed by a Stop
            if self._spectrum is not None:
                self._spectrum.close()
                self._spectrum = None

    def _spectra(self, wait=False):
        """The background spectra finished since the last call."""
        if self._spectrum is None:
            return []
        return self._spectrum.wait(10.0) if wait else self._spectrum.results()

    def _events(self):
        cfg, model = self.cfg, self.model
        V = len(self.vocab)
        high_limit = DIVERGE_FACTOR * math.log(max(V, 2))
        yield Start(vocab_size=V, num_tokens=self.corpus.num_tokens,
                    corpus=self.corpus.name, warning=self.corpus.warning,
                    device=str(self.device),
                    cores=self.cores if self.cores > 1 else torch.get_num_threads(),
                    num_params=self.num_params, param_names=list(model.param_names),
                    step_mode="eager" if self.graph is None else "cuda_graph",
                    step_note=self._step_note(), train_tokens=len(self.split.train),
                    val_source=self.split.source, val_tokens=len(self.split.val))
        last_sample = self._last_checkpoint = time.perf_counter()
        corpus_ids = torch.tensor(self.split.train)   # converted once, not every epoch
        at = self._at
        high_run = at["high_run"]
        for epoch in range(at["epoch"], cfg.num_epochs + 1):
            self.epoch = epoch
            skip, state, acc = (at["pos"], at["state"], at["acc"]) if epoch == at["epoch"] \
                else (0, None, None)
            acc = dict(acc) if acc else {"loss_sum": 0.0, "n_tok": 0, "time": 0.0,
                                         "high_run": high_run}
            at.update(epoch=epoch, pos=skip, rng=self.rng.getstate(), state=state, acc=acc)
            pending = []   # (step, stats tensor, tokens, snapshot, seconds)
            history = []   # this epoch's inputs, when the state is not detached
            for X, Y, last in _with_last(batches(corpus_ids, cfg.batch_size,
                                                 cfg.num_steps, cfg.random_iter, self.rng)):
                if skip:   # resumed: these minibatches were trained before the checkpoint
                    skip -= 1
                    if not cfg.detach:
                        history.append(X.to(self.device))
                    continue
                t0 = time.perf_counter()
                self.step += 1
                if state is None or cfg.random_iter:
                    state = model.begin_state(X.shape[0], self.device)
                probe = self._wants_probe(self.step)
                keep = list(cfg.probe_lanes) if probe else False   # the rows a snapshot shows
                state_in = state
                if self.graph is not None:   # one replay: step, clipping, update, stats
                    out, stats = self.graph.step(X, Y, state, keep)
                    state = out.state
                else:
                    X, Y = cuda_graph.to_device(X, Y, self.device)
                    out, stats, state_in = self._eager_step(X, Y, state, keep, history)
                    state = out.state  # already detached: the next minibatch carries it
                at["pos"] += 1
                at["state"] = state
                snap = (functools.partial(self._snapshot, X, Y, state_in, out, self.step, epoch)
                        if probe else None)
                # timed before any yield: a consumer's time is not training time
                pending.append((self.step, stats, Y.numel(), snap, time.perf_counter() - t0))
                if len(pending) >= self.flush_every or last:
                    diverged = yield from self._flush(pending, epoch, acc, V, high_limit)
                    pending = []
                    if diverged:
                        return
                    if time.perf_counter() - self._last_checkpoint >= CHECKPOINT_S:
                        self._checkpoint()
                yield from self._spectra()
                if self._spectral_due():  # after the step's events: no delay to the chart
                    if self._spectrum is not None:
                        self._spectral_at = self.train_time
                        self._spectrum.submit(self.step, model.recurrent_matrix())
                    else:
                        yield self._spectral()
            high_run = acc["high_run"]
            at.update(epoch=epoch + 1, pos=0, rng=self.rng.getstate(), state=None, acc=None,
                      high_run=high_run)
            loss_sum, n_tok, ep_time = acc["loss_sum"], acc["n_tok"], acc["time"]
            if n_tok == 0:
                continue
            ppl = math.exp(loss_sum / n_tok) if loss_sum / n_tok < 700 else math.inf
            yield Epoch(epoch=epoch, perplexity=ppl, tokens=n_tok,
                        tokens_per_s=n_tok / ep_time if ep_time > 0 else 0.0,
                        time=self.train_time, step=self.step,
                        val_perplexity=self.val_perplexity())
            if math.isinf(ppl):
                yield diverged_event("ppl_inf", self.step, epoch)
                return
            now = time.perf_counter()
            if epoch % cfg.sample_every == 0 or epoch == cfg.num_epochs or now - last_sample > 5:
                last_sample = now
                pred = self.predict()
                yield Sample(epoch=epoch, step=self.step, prefix=pred.prefix,
                             text=pred.text, generated=pred.generated)
            self._checkpoint()
        yield from self._spectra(wait=True)
        yield End("finished", "")

    def _eager_step(self, X, Y, state, keep, history):
        """One minibatch op by op: forward, backward, clipping, update; returns
        (StepOut, stats row [loss, norm before clipping, squared norms], the
        state it started from)."""
        cfg, model = self.cfg, self.model
        if cfg.detach:
            out = model.forward_backward(X, Y, state, probe=keep)
            state_in = state
        else:  # no detach: run the epoch so far again, backprop through all of it
            history.append(X)
            state_in = model.begin_state(X.shape[0], self.device)
            out = model.forward_backward(torch.cat(history, 1), Y, state_in,
                                         probe=keep, warmup=X.shape[1] * (len(history) - 1))
        norm, sq = grad_clipping(out.grads, cfg.theta)
        with torch.no_grad():
            torch._foreach_add_(model.params, out.grads, alpha=-cfg.lr)
        stats = torch.cat([out.loss.reshape(1).float(), norm.reshape(1), sq])
        return out, stats, state_in
