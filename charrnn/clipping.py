"""Choosing the clipping threshold from a run's own gradient norms.

Pascanu, Mikolov and Bengio (2013, section 3.2) suggest taking theta from
statistics of the average gradient norm over a sufficiently large number of
updates. Here: the mean norm before clipping over the last `window` steps.
"""
from __future__ import annotations

import numpy as np

WINDOWS = (100, 1000, None)   # None: every step of the run


def suggested_theta(norms, window: int | None = None) -> float:
    """The mean of the last `window` gradient norms before clipping (all of
    them when window is None or longer than the run); non-finite ones skipped."""
    x = np.asarray(norms, dtype=np.float64)
    if window is not None:
        if window < 1:
            raise ValueError(f"window must be at least 1 step, got {window}")
        x = x[-window:]
    x = x[np.isfinite(x)]
    if not x.size:
        raise ValueError("no finite gradient norm to average")
    return float(x.mean())


def clipped_share(norms, theta: float) -> float:
    """The share of these steps whose norm exceeds theta (the seed clips those)."""
    x = np.asarray(norms, dtype=np.float64)
    return float((x > theta).mean()) if x.size else 0.0
