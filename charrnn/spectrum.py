"""W_hh's spectral radius and largest singular value, off the training thread.

eigvals of an H x H matrix is O(H^3), at 512 hidden units more than a whole
training step. Computed inline it costs its time budget (charrnn/train.py, SPECTRAL_BUDGET). On the CPU a
`SpectrumThread` computes it instead from a copy of W_hh, at the lowest CPU
priority: it uses the time a core would otherwise idle (the serial part of a
step that splits its rows over two cores, or a second core nobody needs), and
on a busy machine it gets a small share.
"""
from __future__ import annotations

import atexit
import os
import queue
import sys
import threading
import time
import weakref

import torch

from .events import Spectral
from .threads import same_threads_as_torch


def spectrum(W: torch.Tensor) -> tuple[float, float]:
    """(spectral radius, sigma_max) of a square matrix."""
    W = W.float().cpu()
    return (float(torch.linalg.eigvals(W).abs().max()),
            float(torch.linalg.matrix_norm(W, ord=2)))


def _lowest_priority():
    """nice 19 for the calling thread only (Linux gives each thread its own nice
    value; elsewhere the id would be a process's). It runs on time a core would
    idle and gets a small share of a core that a training thread wants. Not
    SCHED_IDLE: that never runs while other processes keep the cores busy,
    and the spectral chart would freeze."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass


_live: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_all():
    """A program that ends without closing a Trainer's events (a script that
    stops reading them, a notebook) must not exit while a spectrum is inside
    LAPACK: that aborts the process (see `close`)."""
    for t in list(_live):
        t.close(timeout=2.0)


class SpectrumThread:
    """One matrix at a time: `busy` while one is computed, `results()` returns
    the finished Spectral events in order, `cost` is the CPU
    time of the last one."""

    def __init__(self):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._done: list[Spectral] = []
        self._lock = threading.Lock()
        self.cost = 0.0   # CPU seconds of the last one
        self._closing = False
        self._idle = threading.Event()
        self._idle.set()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="spectrum",
                                        daemon=True)
        self._thread.start()
        _live.add(self)
        ready.wait(5.0)   # its priority is set before it is given any work

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def submit(self, step: int, W: torch.Tensor):
        self._idle.clear()
        self._q.put((step, W.detach().clone()))   # the weights of this step, not later ones

    def results(self) -> list[Spectral]:
        with self._lock:
            done, self._done = self._done, []
        return done

    def wait(self, timeout: float | None = None) -> list[Spectral]:
        """What is left, once the matrix in hand is done (end of a run)."""
        self._idle.wait(timeout)
        return self.results()

    def close(self, timeout: float = 10.0):
        """Stop the thread, after the matrix in hand: a process that exits while
        it is inside LAPACK aborts ("terminate called without an active
        exception"), and a worker process must exit cleanly."""
        self._closing = True    # matrices still queued are dropped
        self._q.put(None)
        self._thread.join(timeout)

    def _run(self, ready):
        _lowest_priority()
        same_threads_as_torch()
        ready.set()
        while True:
            job = self._q.get()
            if job is None or self._closing:
                return
            step, W = job
            t0 = time.thread_time()
            try:
                radius, sigma = spectrum(W)
            except Exception:  # noqa: BLE001 - e.g. non-finite weights: no point, not a crash
                radius = sigma = float("nan")
            with self._lock:
                self._done.append(Spectral(step, radius, sigma))
                self.cost = time.thread_time() - t0   # CPU seconds, not waiting time
            self._idle.set()
