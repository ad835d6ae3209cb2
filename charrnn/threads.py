"""torch's thread count, chosen on purpose.

Measured on the project's 2-core machines (tests/bench): small RNN matmuls
gain little from a second OpenMP thread when the machine is quiet and lose
badly when another process (the Streamlit server, a browser) wants a core,
because OpenMP threads spin waiting for each other. So one intra-op thread
is the default; `--threads` / CHARRNN_THREADS override it.
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
