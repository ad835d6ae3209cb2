"""What every executor shares: a trial's line when it ends, the sweep's
counts and its best trial by validation perplexity."""
from __future__ import annotations

import math
import threading
import time

from .record import ENDED, SweepRecord


def objective(row) -> float:
    """Validation perplexity; training perplexity for a run without held-out
    text; infinity when there is neither (a diverged run)."""
    for key in ("val_perplexity", "perplexity"):
        v = row.get(key)
        if v is not None and math.isfinite(v):
            return v
    return math.inf


def trial_line(row) -> dict:
    return {"trial": row["trial"], "run_id": row["run_id"], "config": row["config"],
            "status": row["status"], "perplexity": row["perplexity"],
            "val_perplexity": row["val_perplexity"], "epochs": row["epochs"],
            **({"message": row["message"]} if row["message"] else {})}


class Driver:
    """Collects the trials' ends; `on_line` gets each ended trial's line."""

    def __init__(self, record: SweepRecord, on_line=None):
        self.record = record
        self.on_line = on_line or (lambda line: None)
        self.stop_event = threading.Event()
        self.t0 = time.perf_counter()

    def started(self, row, run_id, pid=None):
        self.record.update(row, run_id=run_id, status="running", pid=pid)

    def ended(self, row, status, run=None, message=""):
        e = run.log.epochs.last() if run is not None else None
        fields = {"status": status, "message": message or (run.message if run else "")}
        if e:
            fields.update(perplexity=e["perplexity"], val_perplexity=e["val_perplexity"],
                          epochs=int(e["epoch"]))
        self.record.update(row, **fields)
        if status in ENDED:
            self.on_line(trial_line(row))

    def final(self) -> dict:
        rows = self.record.trials
        ended = [r for r in rows if r["status"] in ENDED]
        # the best of the trials that ran to their end (a failed trial's last
        # epoch is not a result); of any with a number when none did
        ranked = [r for r in ended if r["status"] == "finished" and math.isfinite(objective(r))]
        ranked = ranked or [r for r in ended if math.isfinite(objective(r))]
        best = min(ranked, key=objective) if ranked else None
        count = lambda s: sum(r["status"] == s for r in rows)  # noqa: E731
        return {"final": True, "sweep": self.record.name, "trials": len(rows),
                "finished": count("finished"), "stopped_early": count("stopped_early"),
                "failed": count("failed"), "diverged": count("diverged"),
                "best": trial_line(best) if best else None,
                "seconds": time.perf_counter() - self.t0}
