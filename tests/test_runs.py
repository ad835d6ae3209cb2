"""Runs in the background: controls, failures, the registry, the disk."""
import functools
from pathlib import Path

import pytest
import torch

from charrnn import checkpoint, store
from charrnn.runs import Registry
from tests import helpers
from tests.helpers import blocked_at, wait_for

small = functools.partial(helpers.small, num_epochs=400)


@pytest.fixture
def reg(tmp_path):
    r = Registry(tmp_path / "runs", max_active=1)
    yield r
    r.stop_all()


def test_pause_stops_the_steps_and_step_advances_exactly_one(mode, reg):
    """No sleep stands in for "nothing happened": a run stopped while paused
    has trained, in its log, exactly what it had when the worker said it was
    waiting (tests.helpers.blocked_at), plus one minibatch a Step."""
    run = reg.create(small(max_tokens=-1))   # an epoch longer than the test
    assert wait_for(lambda: run.log.num_steps_logged >= 5)
    run.pause()
    assert run.status == "paused"
    assert wait_for(lambda: blocked_at(run) is not None, 30), "the worker never paused"
    n = run.log.num_steps_logged
    run.step()
    assert wait_for(lambda: blocked_at(run) == n + 1, 30), (run.log.num_steps_logged, n + 1)
    assert run.status == "paused"
    run.stop()
    run.join(20)
    assert run.status == "stopped" and run.message == f"Stopped at step {n + 1}."
    assert list(run.log.step_columns()["step"][-2:]) == [n, n + 1]   # and not one more
    assert run.log.num_steps_logged == n + 1


def test_runs_over_the_cap_queue_then_start(reg):
    a = reg.create(small(num_epochs=2))
    b = reg.create(small(num_epochs=2))
    assert a.status == "running" and b.status == "queued"
    assert wait_for(lambda: b.status == "finished", 60)
    assert a.status == "finished" and b.log.epochs.n == 2


def test_an_exception_in_the_thread_becomes_failed(reg, monkeypatch):
    from charrnn import train

    def boom(self, *a, **k):
        raise RuntimeError("simulated fault in forward")
    monkeypatch.setenv("CHARRNN_WORKER", "thread")  # the patch lives in this process
    monkeypatch.setattr(train.Trainer, "events", boom)
    run = reg.create(small())
    assert wait_for(lambda: run.status == "failed")
    assert run.message == "RuntimeError: simulated fault in forward"
    ok = reg.create(small(num_epochs=1))  # the next run still trains
    monkeypatch.undo()
    assert wait_for(lambda: ok.status in ("finished", "failed"), 30)


def test_a_killed_worker_process_interrupts_the_run_at_its_last_checkpoint(reg):
    import os
    import signal
    run = reg.create(small(num_epochs=100_000))
    assert run.worker == "process"
    assert wait_for(lambda: run.checkpoint is not None and run.checkpoint["epoch"] >= 2)
    os.kill(run.worker_pid, signal.SIGKILL)  # what the kernel's OOM killer would do
    assert wait_for(lambda: run.status == "interrupted")
    run.join(5)
    step = run.checkpoint["step"]
    assert step > 0 and run.reason["key"] == "stop.worker" and run.reason["code"] == -9
    assert run.reason["step"] == step and run.reason["at"]
    assert run.log.num_steps_logged == step   # the charts end where the checkpoint does
    assert run.model() is not None and (run.folder / "weights.pt").exists()
    assert run.resumable
    ok = reg.create(small(num_epochs=1))
    assert wait_for(lambda: ok.status == "finished", 30)


def test_an_error_inside_the_worker_process_becomes_failed(reg, tmp_path):
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"not a checkpoint")
    run = reg.create(small(init_weights=str(bad)))
    assert wait_for(lambda: run.status == "failed")
    assert run.message.startswith("StoreError: not a weights file")
    assert run.worker == "process" and "Traceback" in run.traceback


def test_live_weights_reach_the_server_while_the_worker_trains(mode, reg):
    """The Generate page samples from run.model(): while training it moves
    on, and paused it is the model of the step the run waits at."""
    run = reg.create(small(num_epochs=100_000))
    assert wait_for(lambda: run.log.epochs.n >= 3 and run.model() is not None)
    first = run.model().params[1].clone()
    assert wait_for(lambda: not torch.equal(run.model().params[1], first), 10)
    run.stop()
    run.join(20)
    run = reg.create(small(max_tokens=-1))   # no epoch's checkpoint is taken for the pause's
    assert wait_for(lambda: run.log.num_steps_logged >= 5)
    run.pause()
    assert wait_for(lambda: blocked_at(run) is not None, 30), "the worker never paused"
    n = run.log.num_steps_logged

    def on_disk():   # the checkpoint file: the trainer's own weights at its step
        return checkpoint.read_resume(run.folder) or {"step": None}

    def same(model, weights):
        return all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())
    assert wait_for(lambda: on_disk()["step"] == n)
    paused = on_disk()["weights"]
    assert wait_for(lambda: same(run.model(), paused), 10)
    run.step()
    assert wait_for(lambda: blocked_at(run) == n + 1, 30)
    assert wait_for(lambda: on_disk()["step"] == n + 1)
    stepped = on_disk()["weights"]
    assert not same(run.model(), paused) and same(run.model(), stepped)


def test_bad_corpus_fails_with_its_message(reg):
    run = reg.create(small(corpus="text", text="too short", tokens="raw"))
    assert wait_for(lambda: run.status == "failed")
    assert "too short for one minibatch" in run.message


def test_finished_run_survives_a_registry_restart(reg, tmp_path):
    run = reg.create(small(num_epochs=3))
    assert wait_for(lambda: run.status == "finished", 60)
    run.join(10)  # the files are written as the thread ends
    again = Registry(tmp_path / "runs")
    loaded = again.get(run.id)
    assert loaded.status == "finished" and loaded.name == run.name
    assert loaded.log.steps.n == run.log.steps.n
    assert (loaded.log.step_columns()["loss"] == run.log.step_columns()["loss"]).all()
    assert len(loaded.log.snapshots()) == len(run.log.snapshots())
    assert loaded.log.snapshots()[0].inputs == run.log.snapshots()[0].inputs
    for a, b in zip(loaded.model().params, run.model().params):
        assert torch.equal(a, b)
    reg.delete(run.id)
    assert not (tmp_path / "runs" / run.id).exists() and reg.get(run.id) is None


def test_damaged_runs_are_reported_not_fatal(tmp_path):
    bad = tmp_path / "runs" / "broken-run"
    bad.mkdir(parents=True)
    (bad / "meta.json").write_text("{not json")
    reg = Registry(tmp_path / "runs")
    assert reg.list() == [] and "broken-run" in reg.problems[0]


def test_weights_are_never_unpickled(tmp_path):
    import pickle
    f = tmp_path / "evil.pt"

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    f.write_bytes(pickle.dumps({"W_xh": Evil()}))
    with pytest.raises(store.StoreError, match="weights_only=True"):
        store.load_weights(f)


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 70])
def test_run_names_cannot_escape_the_runs_folder(tmp_path, name):
    with pytest.raises(store.StoreError):
        store.run_path(tmp_path, name)


def test_snapshots_stay_bounded_on_long_runs():
    from charrnn.log import MAX_HISTORY_SNAPSHOTS, MAX_RECENT_SNAPSHOTS, RunLog
    from charrnn.events import Snapshot
    import numpy as np
    log = RunLog(["W"], 4)
    for i in range(2000):
        log.add_snapshot(Snapshot(i, 0, [0], np.zeros((1, 4, 8), np.float16),
                                  np.zeros((1, 8), np.float16), np.zeros((1, 4)),
                                  np.zeros((1, 4)), [["a"] * 4], [["b"] * 4], np.ones(4)))
    snaps = log.snapshots()
    assert len(snaps) <= MAX_RECENT_SNAPSHOTS + MAX_HISTORY_SNAPSHOTS
    assert snaps[0].step < 100 and snaps[-1].step == 1999  # the span is kept
    # the older ones are spread evenly over the run, not crowded at its end
    old = np.array([s.step for s in log.history])
    gaps = np.diff(old)
    assert len(old) >= MAX_HISTORY_SNAPSHOTS // 2 and gaps.max() <= 2 * gaps.min()
    assert old[len(old) // 2] < 1000


def test_a_burst_is_the_run_of_consecutive_snapshots_around_one():
    """The Hidden state and Unrolled pages show the minibatches recorded
    together (the state carried from one to the next), not a gap."""
    from charrnn.events import Snapshot
    from charrnn.log import burst_of
    import numpy as np
    snaps = [Snapshot(s, 1, [0], np.zeros((1, 2, 3)), np.zeros((1, 3)), np.zeros((1, 2)),
                      np.zeros((1, 2)), [["a"] * 2], [["b"] * 2], np.ones(2))
             for s in (1, 2, 3, 11, 12, 13, 14)]
    assert [s.step for s in burst_of(snaps, snaps[4])] == [11, 12, 13, 14]
    assert [s.step for s in burst_of(snaps, snaps[6], limit=3)] == [11, 12, 13]
    assert [s.step for s in burst_of(snaps, snaps[0])] == [1, 2, 3]


def test_training_continues_from_saved_weights(reg, tmp_path):
    run = reg.create(small(num_epochs=3))
    assert wait_for(lambda: run.status == "finished", 60)
    run.join(10)
    weights = run.folder / "weights.pt"
    cont = reg.create(small(num_epochs=1, init_weights=str(weights)))
    assert wait_for(lambda: cont.status == "finished", 60), cont.message
    first = cont.log.step_columns()["loss"][0]
    assert first < run.log.step_columns()["loss"][0] - 0.3  # starts where the first ended
    wrong = reg.create(small(num_epochs=1, num_hiddens=16, init_weights=str(weights)))
    assert wait_for(lambda: wrong.status == "failed", 30)
    assert "do not fit this model" in wrong.message and "num_hiddens 16" in wrong.message


def test_workers_do_not_outlive_a_killed_server(tmp_path):
    """kill -9 of the server (no atexit, no cleanup): its training worker, a
    paused one and the spare must all exit, not train on as orphans."""
    import os
    import signal
    import subprocess
    import sys
    script = f"""
import sys, time
from charrnn.config import RunConfig
from charrnn.runs import Registry
reg = Registry({str(tmp_path / 'runs')!r}, max_active=2)
cfg = RunConfig(num_hiddens=32, batch_size=4, num_steps=8, max_tokens=3000,
                num_epochs=100000).validate()
a, b = reg.create(cfg), reg.create(cfg)
while a.log.num_steps_logged < 5 or b.log.num_steps_logged < 5:
    time.sleep(0.05)
b.pause()
time.sleep(0.5)
from charrnn import worker
print(a.worker_pid, b.worker_pid, worker._spare.proc.pid if worker._spare else -1, flush=True)
time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parents[1]))
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 3 and all(p > 0 for p in pids[:2]), pids
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # a zombie waiting for init to reap it is gone too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    assert wait_for(lambda: not any(alive(p) for p in pids if p > 0), 30), pids
