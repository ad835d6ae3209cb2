"""What many test files need: a tiny run's settings, waiting for a condition,
waiting for a run to end."""
from __future__ import annotations

import time

from charrnn.config import RunConfig


def small(num_hiddens=32, max_tokens=3000, num_epochs=12, snapshot_every=5,
          **kw) -> RunConfig:
    """A run of d2l's model small enough to train an epoch in well under a second."""
    return RunConfig(**{"num_hiddens": num_hiddens, "batch_size": 4, "num_steps": 8,
                        "max_tokens": max_tokens, "num_epochs": num_epochs,
                        "snapshot_every": snapshot_every, **kw}).validate()


def wait_for(pred, timeout=60.0, interval=0.02) -> bool:
    """Poll `pred` until it is true (True) or `timeout` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def finish(run, timeout=60):
    """Wait until `run` has ended (any way) and its files are written."""
    assert wait_for(lambda: not run.is_active, timeout), f"{run.id} is still {run.status}"
    run.join(10)  # files are written as the thread ends
    return run


def finished_run(reg, **kw):
    """A run of three epochs (or `kw`'s), trained to its end."""
    run = finish(reg.create(small(**{"num_epochs": 3, "snapshot_every": 3, **kw})))
    assert run.status == "finished", run.message
    return run


def blocked_at(run) -> int | None:
    """The step at which a paused run's trainer is waiting, else None.

    A trainer that blocks (paused, or after a granted step) first checkpoints
    where it stands, marked `blocked` with how many of the run's pause,
    resume and step it had read: when that is all of them and the step is
    the last logged one, it is the worker's answer to the last control, in
    either worker mode. Anything less was taken for it in CI:
    - an epoch's or the 30 s checkpoint, in a test that outlasted 30 s;
    - the block before a Resume: a worker process's events reach the server
      late, so for a moment after Resume the log ended at that old block;
      the test paused, took it for the answer, and expected the next Step
      at 843 while the worker, resumed meanwhile, blocked at 920."""
    ck, logged = run.checkpoint, run.log.num_steps_logged
    if ck is None or not ck.get("blocked") or ck.get("controls") != run.controls_sent:
        return None
    return logged if ck["step"] == logged else None
