"""The run's log: bounded, thread-safe storage the training thread writes and
the UI reads as copies.

Per-step records are a few float32 numbers in a growing 2-D array (a million
steps of 13 columns is ~50 MB); snapshots (hidden states) are larger, so only
a bounded, thinned set is kept.
"""
from __future__ import annotations

import threading

import numpy as np

from .events import Epoch, Sample, Snapshot, Spectral, Step


class Columns:
    """Append-only float table with amortised growth; `view()` copies."""

    def __init__(self, names, dtype=np.float32, capacity=1024):
        self.names = list(names)
        self._a = np.empty((capacity, len(self.names)), dtype=dtype)
        self.n = 0

    def append(self, row):
        if self.n == len(self._a):
            self._a = np.concatenate([self._a, np.empty_like(self._a)])
        self._a[self.n] = row
        self.n += 1

    def view(self) -> dict[str, np.ndarray]:
        a = self._a[: self.n].copy()
        return {name: a[:, i] for i, name in enumerate(self.names)}

    def last(self) -> dict | None:
        if not self.n:
            return None
        return {name: float(v) for name, v in zip(self.names, self._a[self.n - 1])}

    def thin(self, max_rows):
        """Keep every other row once there are more than max_rows (history, not detail)."""
        if self.n > max_rows:
            keep = self._a[: self.n : 2].copy()
            self.n = len(keep)
            self._a[: self.n] = keep

    def keep_until(self, col: int, value):
        """Drop the rows whose column `col` is above `value` (rows are in order)."""
        a = self._a[: self.n]
        self.n = int(np.searchsorted(a[:, col], value, side="right")) if self.n else 0

    def to_array(self):
        return self._a[: self.n].copy()

    @classmethod
    def from_array(cls, names, arr, dtype=np.float32):
        c = cls(names, dtype, capacity=max(len(arr), 16))
        c._a[: len(arr)] = arr
        c.n = len(arr)
        return c


STEP_BASE = ["step", "epoch", "loss", "grad_norm", "grad_norm_clipped", "clipped",
             "tokens_per_s", "time"]
EPOCH_COLS = ["epoch", "perplexity", "tokens_per_s", "time", "step", "val_perplexity"]
SPECTRAL_COLS = ["step", "radius", "sigma_max"]

MAX_RECENT_SNAPSHOTS = 30      # ten bursts of three, all kept
MAX_HISTORY_SNAPSHOTS = 60     # older ones, thinned evenly over the run
MAX_DH_ROWS = 20_000
MAX_SAMPLES = 400


class RunLog:
    """Everything a run reports; writes hold the lock briefly, reads copy."""

    def __init__(self, param_names=(), num_steps=0):
        self.lock = threading.Lock()
        self.version = 0                       # bumps on every write: redraw only on change
        self.param_names = list(param_names)
        self.steps = Columns(STEP_BASE + [f"g_{n}" for n in self.param_names])
        self.epochs = Columns(EPOCH_COLS, np.float64)
        self.spectral = Columns(SPECTRAL_COLS)
        self.dH = Columns(["step"] + [f"t{t}" for t in range(num_steps)])
        self.recent = []                       # newest snapshots
        self.history = []                      # older snapshots, thinned
        self._history_stride = 1
        self._history_seen = 0
        self.samples = []

    # ---- writes (training thread)
    def add(self, ev: Step | Snapshot | Epoch | Spectral | Sample):
        """Keep one of the trainer's events (others are not the log's)."""
        match ev:
            case Step():
                self.add_step(ev)
            case Snapshot():
                self.add_snapshot(ev)
            case Epoch():
                self.add_epoch(ev)
            case Spectral():
                self.add_spectral(ev)
            case Sample():
                self.add_sample(ev)
            case _:
                raise TypeError(f"not a log event: {ev!r}")

    def add_step(self, ev: Step):
        row = [ev.step, ev.epoch, ev.loss, ev.grad_norm, ev.grad_norm_clipped,
               float(ev.clipped), ev.tokens_per_s, ev.time, *ev.param_norms]
        with self.lock:
            self.steps.append(row)
            self.version += 1

    def add_epoch(self, ev: Epoch):
        with self.lock:
            self.epochs.append([getattr(ev, c) for c in EPOCH_COLS])
            self.version += 1

    def add_spectral(self, ev: Spectral):
        with self.lock:
            self.spectral.append([getattr(ev, c) for c in SPECTRAL_COLS])
            self.version += 1

    def add_sample(self, ev: Sample):
        with self.lock:
            self.samples.append(ev.to_dict())   # kept as samples.json stores it
            if len(self.samples) > MAX_SAMPLES:  # keep the first ones: they show progress
                del self.samples[1:len(self.samples) - MAX_SAMPLES + 1:2]
            self.version += 1

    def add_snapshot(self, snap: Snapshot):
        with self.lock:
            self.dH.append([snap.step, *snap.dH])
            self.dH.thin(MAX_DH_ROWS)
            self.recent.append(snap)
            while len(self.recent) > MAX_RECENT_SNAPSHOTS:
                old = self.recent.pop(0)
                self._to_history(old)
            self.version += 1

    def _to_history(self, snap):
        """Every stride-th old snapshot: halving the history doubles the
        stride, so what is kept stays evenly spread over the run."""
        self._history_seen += 1
        if (self._history_seen - 1) % self._history_stride:
            return
        self.history.append(snap)
        if len(self.history) > MAX_HISTORY_SNAPSHOTS:
            self.history = self.history[::2]  # halve the resolution, keep the span
            self._history_stride *= 2

    def truncate(self, step: int):
        """Everything after training step `step` forgotten: a run resumed from
        its checkpoint at that step goes on from there."""
        with self.lock:
            self.steps.keep_until(0, step)
            self.epochs.keep_until(EPOCH_COLS.index("step"), step)
            self.spectral.keep_until(0, step)
            self.dH.keep_until(0, step)
            self.recent = [s for s in self.recent if s.step <= step]
            self.history = [s for s in self.history if s.step <= step]
            self.samples = [s for s in self.samples if s["step"] <= step]
            self.version += 1

    # ---- reads (any thread)
    def step_columns(self):
        with self.lock:
            return self.steps.view()

    def epoch_columns(self):
        with self.lock:
            return self.epochs.view()

    def spectral_columns(self):
        with self.lock:
            return self.spectral.view()

    def dH_matrix(self):
        with self.lock:
            a = self.dH.to_array()
        return a[:, 0], a[:, 1:]

    def snapshots(self):
        """All kept snapshots, oldest first (objects are immutable once stored)."""
        with self.lock:
            return list(self.history) + list(self.recent)

    def latest_snapshot(self):
        with self.lock:
            return self.recent[-1] if self.recent else None

    def sample_list(self):
        with self.lock:
            return list(self.samples)

    def last_step(self):
        with self.lock:
            return self.steps.last()

    @property
    def num_steps_logged(self):
        return self.steps.n


def burst_of(snaps: list[Snapshot], snap: Snapshot, limit: int | None = None) -> list[Snapshot]:
    """The consecutive minibatches recorded together with `snap` (its burst,
    oldest first, at most `limit`): what shows the state carried from one
    minibatch to the next."""
    by_step = {s.step: s for s in snaps}
    start = snap.step
    while start - 1 in by_step:
        start -= 1
    out = []
    while start in by_step and (limit is None or len(out) < limit):
        out.append(by_step[start])
        start += 1
    return out
