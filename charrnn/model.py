"""The seed's RNN from scratch (d2l 8.5), and torch.nn RNN/GRU/LSTM (d2l 8.6,
9.1, 9.2) behind the same interface.

Every model offers:
- `model(X, state) -> (Y, state)`: the seed's forward (autograd), Y time-major
  (num_steps * batch_size, vocab_size);
- `forward_backward(X, Y, state, probe) -> StepOut`: loss and gradients of one
  minibatch (ONE backward after all num_steps forward steps), the new state,
  and, when probing, the hidden states and ||dL/dH_t|| of every step (`probe`
  True: H_t of every batch row; a list of row numbers: of those rows only);
- `params`, `param_names`, `begin_state`, `recurrent_matrix`.

The scratch model's `forward_backward` is a hand-written BPTT that equals the
seed's maths (tests compare it with autograd on the seed's code): one-hot @
W_xh is done as row selection, the output layer and dW_hh as one matmul each
over all steps; only the H_t chain is sequential (charrnn/bptt.py).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from . import bptt
from .bptt import StepOut


class DeviceError(ValueError):
    """The requested device does not exist here; one sentence for the user."""


def available_devices() -> list[str]:
    """The devices this machine really has, `auto` first."""
    devs = ["auto", "cpu"]
    if torch.cuda.is_available():
        devs += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        devs.append("mps")
    return devs


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"{name} is not available: this machine has no CUDA GPU "
                              f"(or torch {torch.__version__} was built without CUDA); "
                              "use cpu or auto.")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"{name} is not available: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s).")
        return dev
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise DeviceError("mps is not available: it needs an Apple-silicon Mac; "
                              "use cpu or auto.")
        return torch.device("mps")
    raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps.")


# ------------------------------------------------------------- the seed
def get_params(vocab_size, num_hiddens, device):
    """The seed's initialisation: N(0, 0.01) weights, zero biases."""
    num_inputs = num_outputs = vocab_size

    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01

    W_xh = normal((num_inputs, num_hiddens))
    W_hh = normal((num_hiddens, num_hiddens))
    b_h = torch.zeros(num_hiddens, device=device)
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs, device=device)
    params = [W_xh, W_hh, b_h, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


ACT = {"tanh": torch.tanh, "relu": torch.relu}


class ScratchRNN:
    """RNNModelScratch of the seed, with a fast exact training step."""

    kind = "scratch"
    param_names = ["W_xh", "W_hh", "b_h", "W_hq", "b_q"]

    def __init__(self, vocab_size, num_hiddens, device, activation="tanh"):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.device = torch.device(device)
        self.activation = activation
        self.params = get_params(vocab_size, num_hiddens, self.device)
        self.cores = 1   # CPU threads sharing a minibatch's rows (charrnn/threads.py)

    def begin_state(self, batch_size, device=None):
        return (torch.zeros((batch_size, self.num_hiddens), device=device or self.device),)

    def __call__(self, X, state):
        """The seed's forward: one-hot inputs, one token per step."""
        W_xh, W_hh, b_h, W_hq, b_q = self.params
        act = ACT[self.activation]
        inputs = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        H, = state
        outputs = []
        for X_t in inputs:
            H = act(torch.mm(X_t, W_xh) + torch.mm(H, W_hh) + b_h)
            outputs.append(torch.mm(H, W_hq) + b_q)
        return torch.cat(outputs, dim=0), (H,)

    def logits(self, X, state):
        """The seed's forward for evaluation (validation perplexity): one-hot @
        W_xh taken as the rows it selects and the output layer as one product
        over all steps; equal to `self(X, state)` within float rounding."""
        W_xh, W_hh, b_h, W_hq, b_q = self.params
        act = ACT[self.activation]
        XW = W_xh[X.T] + b_h                  # (num_steps, batch, num_hiddens)
        H, = state
        Hs = torch.empty_like(XW)
        for t in range(XW.shape[0]):
            H = act(torch.addmm(XW[t], H, W_hh))
            Hs[t] = H
        return torch.addmm(b_q, Hs.reshape(-1, Hs.shape[-1]), W_hq), (H,)

    def step_logits(self, token: int, state):
        """The seed's forward for one token of one sequence (text generation):
        the same floats as `self(X, state)` on a 1 x 1 input, the one-hot
        product taken as the row it selects: about half the torch ops (a
        sample is generated while training)."""
        W_xh, W_hh, b_h, W_hq, b_q = self.params
        H, = state
        H = ACT[self.activation](W_xh[token:token + 1] + torch.mm(H, W_hh) + b_h)
        return torch.mm(H, W_hq) + b_q, (H,)

    def recurrent_matrix(self):
        return self.params[1].detach()

    def state_dict(self):
        return {n: p.detach().cpu().clone() for n, p in zip(self.param_names, self.params)}

    def load_state_dict(self, sd):
        if set(sd) != set(self.param_names):
            raise KeyError(f"expected parameters {self.param_names}, got {sorted(sd)}")
        for n, p in zip(self.param_names, self.params):
            if tuple(sd[n].shape) != tuple(p.shape):
                raise RuntimeError(f"{n} has shape {tuple(sd[n].shape)}, the model's is "
                                   f"{tuple(p.shape)}")
        with torch.no_grad():
            for n, p in zip(self.param_names, self.params):
                p.copy_(sd[n])

    @torch.inference_mode()
    def forward_backward(self, X, Y, state, probe=False, warmup=0):
        """One minibatch: charrnn/bptt.py's exact hand-written BPTT, its rows
        split over `self.cores` CPU threads. With `warmup` w, the first w steps
        of X only carry the state (no output, no loss) while the gradient still
        flows through them: backpropagation through earlier minibatches (no
        detach). What it returns are inference tensors (see bptt._group):
        read them anywhere, change them in place only in inference mode."""
        return bptt.forward_backward(
            self.params, X, Y, state[0], self.activation != "tanh", warmup, probe, self.cores)


# ------------------------------------------------------ torch.nn models
class TorchRNN(nn.Module):
    """d2l's RNNModel (8.6) around nn.RNN / nn.GRU / nn.LSTM, one-hot inputs."""

    CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
    NAMES = {"rnn.weight_ih_l0": "W_ih", "rnn.weight_hh_l0": "W_hh",
             "rnn.bias_ih_l0": "b_ih", "rnn.bias_hh_l0": "b_hh",
             "linear.weight": "W_hq", "linear.bias": "b_q"}

    def __init__(self, kind, vocab_size, num_hiddens, device):
        super().__init__()
        self.kind = kind
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.rnn = self.CELLS[kind](vocab_size, num_hiddens)
        self.linear = nn.Linear(num_hiddens, vocab_size)
        self.device = torch.device(device)
        self.to(self.device)
        named = list(self.named_parameters())
        self.params = [p for _, p in named]
        self.param_names = [self.NAMES[n] for n, _ in named]

    def begin_state(self, batch_size, device=None):
        z = torch.zeros((1, batch_size, self.num_hiddens), device=device or self.device)
        return (z, z.clone()) if self.kind == "lstm" else (z,)

    def forward(self, X, state):
        inputs = F.one_hot(X.T.long(), self.vocab_size).type(torch.float32)
        st = state if self.kind == "lstm" else state[0]
        Y, st = self.rnn(inputs, st)
        out = self.linear(Y.reshape((-1, Y.shape[-1])))
        return out, (st if self.kind == "lstm" else (st,))

    def logits(self, X, state):
        return self(X, state)

    def _cell_loop(self, X, state):
        """The same maths one step at a time, keeping each H_t for dL/dH_t.

        The fused kernel hides H_t from autograd's point of view on the
        recurrent path, so the probe needs this loop (equal within float
        tolerance; tested)."""
        w_ih, w_hh = self.rnn.weight_ih_l0, self.rnn.weight_hh_l0
        b_ih, b_hh = self.rnn.bias_ih_l0, self.rnn.bias_hh_l0
        XW = w_ih.T[X.T] + b_ih                          # one-hot @ W_ih^T, row selection
        h = state[0][0]
        c = state[1][0] if self.kind == "lstm" else None
        Hs, Cs = [], []
        for t in range(X.shape[1]):
            gh = h @ w_hh.T + b_hh
            if self.kind == "rnn":
                h = torch.tanh(XW[t] + gh)
            elif self.kind == "gru":
                i_r, i_z, i_n = XW[t].chunk(3, 1)
                h_r, h_z, h_n = gh.chunk(3, 1)
                r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
                n = torch.tanh(i_n + r * h_n)
                h = (1 - z) * n + z * h
            else:
                i, f, g, o = (XW[t] + gh).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                Cs.append(c.detach())
            h.retain_grad()
            Hs.append(h)
        out = self.linear(torch.cat(Hs, 0))
        st = (h.unsqueeze(0), c.unsqueeze(0)) if self.kind == "lstm" else (h.unsqueeze(0),)
        return out, st, Hs, Cs

    def forward_backward(self, X, Y, state, probe=False):
        for p in self.params:
            p.grad = None
        y = Y.T.reshape(-1)
        if probe:
            out, st, Hs, Cs = self._cell_loop(X, state)
        else:
            out, st = self(X, state)
        loss = F.cross_entropy(out, y.long())
        loss.backward()
        res = StepOut(loss.detach(), [p.grad for p in self.params],
                      tuple(s.detach() for s in st))
        if probe:
            res.Hs = torch.stack([h.detach() for h in Hs])
            res.dH = torch.stack([torch.linalg.vector_norm(h.grad) for h in Hs])
            res.Cs = torch.stack(Cs) if Cs else None
            if probe is not True:
                res.Hs = res.Hs[:, list(probe)]
                res.Cs = None if res.Cs is None else res.Cs[:, list(probe)]
        return res

    def recurrent_matrix(self):
        """The block of W_hh that feeds the candidate state (the whole of it for RNN)."""
        w = self.rnn.weight_hh_l0.detach()
        H = self.num_hiddens
        return w if self.kind == "rnn" else w[2 * H:3 * H]


def make_model(kind, vocab_size, num_hiddens, device, activation="tanh"):
    if kind == "scratch":
        return ScratchRNN(vocab_size, num_hiddens, device, activation)
    return TorchRNN(kind, vocab_size, num_hiddens, device)
