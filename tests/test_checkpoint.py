"""Nothing lost: a run checkpoints while it trains, comes back after a crash
marked "interrupted" at its last checkpoint, and goes on from there exactly
as if it had never stopped (same minibatches, same carried state)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from charrnn import checkpoint, train
from charrnn.events import Epoch, Sample, Step
from charrnn.i18n import t
from charrnn.runs import Registry
from charrnn.train import Trainer
from tests.helpers import blocked_at, finished_run, small, wait_for

REPO = Path(__file__).resolve().parents[1]


def losses(cfg, resume=None, stop_at=None):
    """(losses by step, the resume state at stop_at, the checkpoints made)."""
    trainer = Trainer(cfg, resume=resume)
    made = []
    trainer.on_checkpoint = made.append
    out = []
    for ev in trainer.events():
        if isinstance(ev, Step):
            out.append(ev.loss)
            if ev.step == stop_at:
                return out, trainer.resume_state(), made
    return out, None, made


@pytest.mark.parametrize("kw", [{}, {"random_iter": True}, {"detach": False},
                                {"model": "gru"}], ids=["sequential", "random",
                                                        "no-detach", "gru"])
def test_a_resumed_trainer_goes_on_exactly_as_one_that_never_stopped(kw):
    cfg = small(num_epochs=3, max_tokens=800, **kw)
    whole, _, made = losses(cfg)
    first, mid, _ = losses(cfg, stop_at=37)   # inside an epoch: carried state, data order
    rest, _, _ = losses(cfg, resume=mid)
    assert mid["pos"] > 0 and first + rest == whole
    after_epoch, _, _ = losses(cfg, resume=made[0])   # at an epoch's end
    assert after_epoch == whole[made[0]["step"]:]


def test_a_checkpoint_at_every_epochs_end_and_every_30_seconds_within_one(monkeypatch):
    cfg = small(num_epochs=4, max_tokens=800)
    _, _, made = losses(cfg)
    assert [m["epoch"] for m in made] == [2, 3, 4, 5]   # the next epoch to train
    assert train.CHECKPOINT_S == 30.0
    monkeypatch.setattr(train, "CHECKPOINT_S", 0.0)   # "30 s have passed" at every step
    whole, _, made = losses(cfg)
    assert len(made) == len(whole) + 4


def test_a_stopped_run_resumes_where_it_stopped(tmp_path, mode):
    reg = Registry(tmp_path / "runs")
    cfg = small()
    run = reg.create(cfg)
    assert wait_for(lambda: run.log.epochs.n >= 3)
    run.stop()
    run.join(20)
    stopped_at = run.log.num_steps_logged
    assert run.status == "stopped" and run.resumable and run.checkpoint["step"] == stopped_at
    again = Registry(tmp_path / "runs").get(run.id)   # and after a server restart
    assert again.status == "stopped" and again.resumable
    assert again.log.num_steps_logged == stopped_at
    reg2 = Registry(tmp_path / "runs")
    resumed = reg2.resume(run.id)
    assert resumed is not None
    assert wait_for(lambda: resumed.status == "finished", 120), resumed.message
    straight = reg2.create(cfg)
    assert wait_for(lambda: straight.status == "finished", 120)
    a, b = resumed.log.step_columns(), straight.log.step_columns()
    assert np.array_equal(a["step"], np.arange(1, len(a["step"]) + 1))
    assert np.array_equal(a["loss"], b["loss"])   # the same run, a Stop or not
    ea, eb = resumed.log.epoch_columns(), straight.log.epoch_columns()
    assert np.array_equal(ea["epoch"], eb["epoch"])
    np.testing.assert_allclose(ea["perplexity"], eb["perplexity"], rtol=1e-12)
    reg.stop_all()
    reg2.stop_all()


SERVER = """
import sys, time
from charrnn.config import RunConfig
from charrnn.events import Epoch, Sample, Step
from charrnn.runs import Registry
reg = Registry(sys.argv[1])
cfg = RunConfig(num_hiddens=32, batch_size=4, num_steps=8, max_tokens=3000,
                num_epochs=int(sys.argv[2]), snapshot_every=5).validate()
run = reg.create(cfg)
print(run.id, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_server_leaves_its_run_interrupted_and_resumable(tmp_path, mode, sig):
    root = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(root), "40"],
                            stdout=subprocess.PIPE, text=True, cwd=str(REPO))
    run_id = proc.stdout.readline().strip()
    meta = root / run_id / "meta.json"

    def checkpoint_epoch():
        try:
            return (json.loads(meta.read_text()).get("checkpoint") or {}).get("epoch", 0)
        except (OSError, ValueError):
            return 0
    assert wait_for(lambda: checkpoint_epoch() >= 4, 120)
    os.kill(proc.pid, sig)
    proc.wait(20)
    reg = Registry(root)
    run = reg.get(run_id)
    step = run.checkpoint["step"]
    assert run.status == "interrupted" and step > 0
    assert run.reason["key"] == "stop.server" and run.reason["step"] == step
    assert run.reason["at"] == time.strftime("%H:%M:%S", time.localtime(run.checkpoint["at"]))
    for lang in ("en", "zh"):
        assert str(step) in t("stop.server", lang, **run.reason)
    assert run.log.num_steps_logged == step and run.log.epochs.n >= 3
    assert run.model() is not None and run.resumable
    assert reg.resume(run_id) is run
    assert wait_for(lambda: run.status == "finished", 180), run.message
    straight = reg.create(small(num_epochs=40))
    assert wait_for(lambda: straight.status == "finished", 180)
    assert np.array_equal(run.log.step_columns()["loss"], straight.log.step_columns()["loss"])
    reg.stop_all()


def test_restart_starts_a_new_run_with_the_same_settings(tmp_path):
    reg = Registry(tmp_path / "runs")
    run = reg.create(small(num_epochs=1, lr=0.5, name="mine"))
    assert wait_for(lambda: run.status == "finished")
    again = reg.restart(run.id)
    assert again.id != run.id and again.config == run.config
    assert wait_for(lambda: again.status == "finished")
    reg.stop_all()


def test_the_log_is_cut_at_the_checkpoints_step():
    from charrnn.log import RunLog
    log = RunLog(["W"], 2)
    for i in range(1, 11):
        log.add(Step(step=i, epoch=1 + i // 5, loss=1.0, grad_norm=1.0, grad_norm_clipped=1.0,
                     clipped=False, param_norms=[1.0], tokens_per_s=1.0, time=i))
        if i % 5 == 0:
            log.add(Epoch(epoch=i // 5, perplexity=2.0, tokens=1, tokens_per_s=1.0, time=i,
                          step=i))
            log.add(Sample(epoch=i // 5, step=i, prefix="a", text="ab", generated="b"))
    log.truncate(7)
    assert list(log.step_columns()["step"]) == list(range(1, 8))
    assert list(log.epoch_columns()["step"]) == [5]
    assert [s["step"] for s in log.sample_list()] == [5]


def test_a_checkpoint_written_halfway_is_ignored(tmp_path):
    """checkpoint.npz is written last: a torn one means the previous one counts."""
    (tmp_path / checkpoint.CHECKPOINT_FILE).write_bytes(b"torn")
    assert checkpoint.read_resume(tmp_path) is None


def test_a_checkpoint_rewrites_only_the_files_that_changed(tmp_path):
    """Every replaced file costs the disk more than its bytes: a checkpoint with
    no new step, sample or snapshot writes the resume state and meta only; a
    thinned snapshot's file goes, with the index rewritten."""
    from charrnn import store
    from charrnn.log import RunLog
    cfg = small(num_epochs=2)
    trainer = Trainer(cfg)
    log = RunLog(trainer.model.param_names, cfg.num_steps)
    made = []
    trainer.on_checkpoint = lambda r: made.append(r)
    for ev in trainer.events():
        if isinstance(ev, (Step, Epoch, Sample)) or type(ev).__name__ == "Snapshot":
            log.add(ev)
    frozen = checkpoint.freeze(log)
    assert len(made) >= 2 and len(frozen.snapshots) >= 2 and frozen.samples
    written = []
    writer = checkpoint.Writer(tmp_path, lambda p, b: (written.append(p.name),
                                                        store.quick_write(p, b)))
    writer.write_now(frozen, made[0], {"checkpoint": checkpoint.summary(made[0])})
    assert {"samples.json", checkpoint.SNAP_INDEX} <= set(written)
    written.clear()
    writer.write_now(frozen, made[-1], {"checkpoint": checkpoint.summary(made[-1])})
    assert sorted(written) == sorted([checkpoint.CHECKPOINT_FILE, "meta.json"])
    assert checkpoint.read_resume(tmp_path)["step"] == made[-1]["step"]
    written.clear()
    gone = frozen.snapshots.pop(0).step
    writer.write_now(frozen, made[-1], {"checkpoint": checkpoint.summary(made[-1])})
    assert checkpoint.SNAP_INDEX in written
    assert json.loads((tmp_path / checkpoint.SNAP_INDEX).read_text()) == \
        [s.step for s in frozen.snapshots]
    assert not (tmp_path / checkpoint.SNAP_DIR / f"{gone:010d}.npz").exists()
    writer.close()


def test_the_writer_counts_its_time_holding_the_gil_apart(tmp_path):
    """What a checkpoint costs a training thread in the same process is the
    writer's Python and numpy time (user CPU); its file system calls release
    the GIL (tests/bench/checkpoint_cost.py reports both)."""
    import time
    from charrnn.log import RunLog
    cfg = small(num_epochs=1)
    trainer = Trainer(cfg)
    log = RunLog(trainer.model.param_names, cfg.num_steps)
    made = []
    trainer.on_checkpoint = made.append
    for ev in trainer.events():
        if isinstance(ev, (Step, Epoch, Sample)):
            log.add(ev)

    spent = []

    def slow_write(path, data):   # Python work in the writer: user time
        c0 = time.thread_time()
        sum(i * i for i in range(300_000))
        spent.append(time.thread_time() - c0)
    writer = checkpoint.Writer(tmp_path, slow_write)
    writer.submit(checkpoint.freeze(log), made[-1], {})
    writer.close()
    assert writer.count == 1 and writer.error is None and len(spent) >= 3
    assert 0.7 * sum(spent) <= writer.user_s <= writer.cpu_s + 0.02


def test_a_checkpoint_taken_because_the_trainer_waits_says_so(mode, tmp_path):
    """Pause's checkpoint (the worker now waits there) is told from an
    epoch's or the 30 s one, in either worker mode: tests take it as the
    worker's word that it has stopped."""
    reg = Registry(tmp_path / "runs", max_active=1)
    try:
        run = finished_run(reg, num_epochs=1)
        assert not run.checkpoint["blocked"]   # the epochs' own checkpoints
        run = reg.create(small(num_epochs=100_000, max_tokens=-1))
        assert wait_for(lambda: run.log.num_steps_logged >= 3)
        run.pause()
        assert wait_for(lambda: blocked_at(run) is not None, 30)
        assert run.checkpoint["blocked"] and run.checkpoint["step"] == run.log.num_steps_logged
        assert run.checkpoint["controls"] == run.controls_sent == 1
        assert wait_for(lambda: (checkpoint.read_resume(run.folder) or {}).get("blocked"), 30)
        run.resume()   # that block is no answer to Resume, even before new steps arrive
        assert blocked_at(run) is None
        run.pause()
        assert wait_for(lambda: blocked_at(run) is not None, 30)
        assert run.checkpoint["controls"] == run.controls_sent == 3
        run.stop()
        run.join(60)
        assert not checkpoint.read_resume(run.folder).get("blocked")   # Stop's own
    finally:
        reg.stop_all()
