"""How many CPU cores training uses, chosen on purpose.

Measured on the project's 2-core machines (tests/bench/RESULTS.md, sections 3
and 11):
- torch's own OpenMP threads give 1.38x at 512 hidden units only when both
  cores are free, and nothing at 128; they fall to 0.4-0.56x of ONE thread as
  soon as another process wants a core (the Streamlit server, a browser),
  because OpenMP threads spin waiting for each other; and with two or more,
  torch calls from a second Python thread give that thread its own OpenMP
  team, after which every 2-thread op of the process stays slow;
- so the scratch model uses extra cores differently: torch runs ONE thread
  and the minibatch's rows are split into groups, one Python thread each,
  running a TorchScript step that does not hold the GIL (charrnn/bptt.py).
  The threads meet twice per minibatch instead of at every op, and never spin.
  The nn.RNN/GRU/LSTM models use the cores as torch threads.
Training runs in its own worker process (charrnn/worker.py). `--threads` /
CHARRNN_THREADS set the cores; `default_threads` says what they are unset.
"""
from __future__ import annotations

import os

import torch

_cores: int | None = None   # what configure_threads chose; None: never called
_chosen = False             # given by the user (--threads, CHARRNN_THREADS)


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def default_threads(headless: bool) -> int:
    """Two cores where they are likely free: headless (the CLI), or in the app
    on a machine with 4+ cores. One in the app on smaller machines, where the
    server and a browser need the other core (measured with a busy neighbour:
    two row groups keep 0.76-0.94x of one thread's speed, OpenMP's two
    threads 0.3-0.4x)."""
    cores = machine_cores()
    return min(2, cores) if headless or cores >= 4 else 1


def configure_threads(n: int | None = None, headless: bool = False) -> int:
    """Cores for training in this process: `n`, CHARRNN_THREADS, or the default."""
    global _cores, _chosen
    if n is None and "CHARRNN_THREADS" in os.environ:
        n = int(os.environ["CHARRNN_THREADS"])
    _chosen = n is not None
    if n is None:
        n = default_threads(headless)
    _cores = n = max(1, int(n))
    _set_torch_threads(False)   # use_cores decides per model
    return n


def _set_torch_threads(split_rows: bool):
    """One OpenMP thread unless the user chose more for a model that does not
    split its rows (OpenMP's threads are the ones that collapse under
    contention)."""
    n = _cores if _chosen and not split_rows else 1
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def use_cores(split_rows: bool) -> int:
    """Give the configured cores to a model about to train: as row-group
    threads when it splits a minibatch's rows (torch then runs one thread),
    else as torch threads when the user chose them. Returns the row-group
    threads (1 when the cores are torch's)."""
    if _cores is None:
        return 1
    _set_torch_threads(split_rows)
    return _cores if split_rows else 1


def same_threads_as_torch():
    """Call first in a new Python thread that runs torch ops. OpenMP's thread
    count is per OS thread: a new thread starts with one per core, whatever
    torch.set_num_threads said, and MKL inside it would start its own team
    (measured: the seed's two-thread step fell from 207k to 63k tokens/s in a
    process whose spectrum thread had run eigvals that way)."""
    torch.set_num_threads(torch.get_num_threads())
