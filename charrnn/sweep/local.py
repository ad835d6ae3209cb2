"""Trials on this machine: each a run of the registry in its own worker
process (charrnn/worker.py), `max_concurrent` at once."""
from __future__ import annotations

import os
import time

from ..runs import Registry
from ..threads import machine_cores
from .asha import Asha


def default_concurrency(threads: int) -> int:
    """As many trials as there are cores for them: each worker trains on
    `threads` cores (one by default), so trials never share a core."""
    return max(1, machine_cores() // max(1, threads))


def run_local(driver, rows, max_concurrent: int, threads: int, scheduler: str,
              poll: float = 0.2, registry=None):
    """Train `rows` here; with `registry` (the app's), its runs and its limit
    of runs at once, so the pages show the trials live."""
    rec = driver.record
    if registry is None:
        os.environ["CHARRNN_THREADS"] = str(threads)   # the workers read it when they start
        reg = Registry(rec.root, max_active=max_concurrent, worker="process", load=False)
    else:
        reg = registry
    asha = None
    if scheduler == "asha" and rows:
        asha = Asha(max(rec.config(r).num_epochs for r in rows))
    runs, seen, pruned = {}, {}, set()
    for row in rows:
        run = reg.create(rec.config(row))
        runs[row["trial"]] = (row, run)
        seen[row["trial"]] = 0
        driver.started(row, run.id)
    live = dict(runs)
    try:
        while live:
            if driver.stop_event.is_set():
                break
            for idx, (row, run) in list(live.items()):
                if row.get("pid") is None and run.worker_pid:
                    rec.update(row, pid=run.worker_pid)
                e = run.log.epoch_columns()
                if asha and idx not in pruned:
                    for i in range(seen[idx], len(e["epoch"])):
                        v = e["val_perplexity"][i]
                        v = v if v == v else e["perplexity"][i]
                        if not asha.report(idx, int(e["epoch"][i]), float(v)):
                            pruned.add(idx)
                            run.stop()
                            break
                    seen[idx] = len(e["epoch"])
                if not run.is_active and (run._thread is None or not run._thread.is_alive()):
                    # a worker that died leaves its run "interrupted" (resumable from
                    # its checkpoint): for the sweep that trial failed, with the reason
                    status = {"stopped": "stopped_early" if idx in pruned else "stopped",
                              "interrupted": "failed"}.get(run.status, run.status)
                    driver.ended(row, status, run)
                    del live[idx]
            time.sleep(poll)
    finally:
        for row, run in live.values():     # the driver was stopped: end what trains
            run.stop()
        for row, run in live.values():
            run.join(15)
            driver.ended(row, "stopped", run)
