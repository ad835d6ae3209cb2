"""Asynchronous successive halving (Li et al., ASHA) for the local executor,
on the epoch reports: at each rung (grace, grace*eta, grace*eta^2, ... epochs)
a trial goes on only if its objective is within the best 1/eta of those that
reached the rung so far. A Ray sweep uses Ray Tune's ASHAScheduler with the
same rungs instead."""
from __future__ import annotations

import math

import numpy as np

REDUCTION = 3


def grace_period(num_epochs: int) -> int:
    """The first rung: a ninth of the epochs (at least one)."""
    return max(1, num_epochs // 9)


class Asha:
    def __init__(self, max_t: int, grace: int | None = None, eta: int = REDUCTION):
        self.eta = eta
        r = grace or grace_period(max_t)
        self.rungs = []
        while r < max_t:
            self.rungs.append(r)
            r *= eta
        self.recorded: dict[int, dict] = {r: {} for r in self.rungs}

    def report(self, trial, epoch: int, value: float) -> bool:
        """Record `value` (lower is better) at `epoch`; False: stop the trial."""
        value = value if math.isfinite(value) else math.inf
        for rung in self.rungs:
            if epoch < rung or trial in self.recorded[rung]:
                continue
            seen = self.recorded[rung]
            seen[trial] = value
            cutoff = np.percentile(np.array(list(seen.values())), 100 / self.eta)
            if value > cutoff:
                return False
        return True
