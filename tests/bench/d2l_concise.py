"""d2l's concise RNNs (8.6 with nn.RNN, 9.1 nn.GRU, 9.2 nn.LSTM), as the book
trains them: the reference that charrnn's torch.nn models are measured
against on a GPU (tests/bench/gpu.py). Written in the book's style: RNNModel
(one-hot inputs, the layer, a Linear on top), grad_clipping with its `if
norm > theta` on the host, torch.optim.SGD, an Accumulator that turns the
loss into a Python float every minibatch."""
import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from tests import seed_reference as seed


class RNNModel(nn.Module):
    """The RNN model (d2l 8.6)."""

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super(RNNModel, self).__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        if not self.rnn.bidirectional:
            self.num_directions = 1
            self.linear = nn.Linear(self.num_hiddens, self.vocab_size)
        else:
            self.num_directions = 2
            self.linear = nn.Linear(self.num_hiddens * 2, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size)
        X = X.to(torch.float32)
        Y, state = self.rnn(X, state)
        # the fully connected layer first turns Y into (num_steps * batch_size, num_hiddens)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device, batch_size=1):
        if not isinstance(self.rnn, nn.LSTM):
            return torch.zeros((self.num_directions * self.rnn.num_layers,
                                batch_size, self.num_hiddens), device=device)
        return (torch.zeros((self.num_directions * self.rnn.num_layers,
                             batch_size, self.num_hiddens), device=device),
                torch.zeros((self.num_directions * self.rnn.num_layers,
                             batch_size, self.num_hiddens), device=device))


def grad_clipping(net, theta):
    """Clip the gradient (d2l 8.5)."""
    if isinstance(net, nn.Module):
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        params = net.params
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


class Accumulator:
    """Sums over n variables (d2l 3.6)."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """One epoch (d2l 8.5); returns (perplexity, tokens/s)."""
    state, t0 = None, time.perf_counter()
    metric = Accumulator(2)  # sum of training loss, no. of tokens
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            if isinstance(net, nn.Module) and not isinstance(state, tuple):
                state.detach_()
            else:
                for s in state:
                    s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        updater.zero_grad()
        l.backward()
        grad_clipping(net, 1)
        updater.step()
        metric.add(l * y.numel(), y.numel())
    return math.exp(metric[0] / metric[1]), metric[1] / (time.perf_counter() - t0)


LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def concise_epochs(kind, corpus, vocab_size, num_hiddens, epochs, device, lr=1.0,
                   batch_size=32, num_steps=35):
    """d2l's concise model of `kind` trained `epochs` epochs (sequential
    partitioning, as the book's train_ch8 default); tokens/s of each epoch."""
    torch.manual_seed(0)
    net = RNNModel(LAYERS[kind](vocab_size, num_hiddens), vocab_size).to(device)
    loss = nn.CrossEntropyLoss()
    updater = torch.optim.SGD(net.parameters(), lr)
    speeds, ppl = [], math.nan
    for _ in range(epochs):
        it = seed.seq_data_iter_sequential(corpus, batch_size, num_steps)
        ppl, speed = train_epoch_ch8(net, it, loss, updater, device, False)
        speeds.append(speed)
    return speeds, ppl
