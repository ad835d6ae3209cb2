"""torch's thread count, chosen on purpose: one intra-op thread by default.

Measured on the project's 2-core machines (tests/bench/RESULTS.md, section 3):
- two OpenMP threads give 1.38x at 512 hidden units only when both cores are
  free, and nothing at 128;
- they fall to 0.4-0.56x of ONE thread as soon as another process wants a
  core (the Streamlit server, a browser), because OpenMP threads spin waiting
  for each other; OMP_WAIT_POLICY=PASSIVE makes them uniformly slow instead;
- with two or more threads, torch calls from a second Python thread (the
  app's script threads: the Generate page) give that thread its own OpenMP
  team, and every 2-thread op of the process stays slow from then on.
Training runs in its own worker process (charrnn/worker.py), which calls this
too. `--threads` / CHARRNN_THREADS override it.
"""
from __future__ import annotations

import os

import torch

DEFAULT_THREADS = 1


def configure_threads(n: int | None = None) -> int:
    if n is None:
        n = int(os.environ.get("CHARRNN_THREADS", DEFAULT_THREADS))
    n = max(1, int(n))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
