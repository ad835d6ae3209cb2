"""`python -m charrnn sweep` on this machine: plans, lines, the store, faults, resume."""
import os
import signal

import pytest

from charrnn.config import ConfigError, RunConfig
from charrnn.runs import Run
from charrnn.sweep.asha import Asha
from charrnn.sweep.plan import plan
from tests.sweep_helpers import TINY, lines, start_sweep, sweep_cli, wait_record

BASE = RunConfig(num_hiddens=16, max_tokens=2000, batch_size=4, num_steps=8).validate()


def test_a_grid_is_every_combination_named_by_what_varies():
    trials = plan(BASE, ["lr=0.5,1,2", "theta=1,none"])
    assert len(trials) == 6
    assert [t.config.name for t in trials[:2]] == ["lr=0.5 θ=1", "lr=0.5 θ=none"]
    assert trials[1].config.theta is None and trials[5].config.lr == 2.0


def test_random_samples_draw_within_their_ranges_reproducibly():
    spec = ["lr=loguniform:0.05:5", "num_hiddens=64,128,256"]
    trials = plan(BASE, [], spec, samples=12)
    assert len(trials) == 12 and len({t.config.lr for t in trials}) > 6
    assert all(0.05 <= t.config.lr <= 5 for t in trials)
    assert {t.config.num_hiddens for t in trials} <= {64, 128, 256}
    assert [t.varied for t in plan(BASE, [], spec, samples=12)] == [t.varied for t in trials]


@pytest.mark.parametrize("args, message", [
    (["--grid", "lr=0.5,abc"], "lr must be a number"),
    (["--grid", "colour=1,2"], "'colour' is not a setting a sweep can vary"),
    (["--grid", "lr"], "write NAME=VALUES"),
    (["--random", "lr=loguniform:5:0.1"], "LOW must be below HIGH"),
    (["--grid", "lr=1", "--grid", "lr=2"], "lr is given as an axis twice"),
    (["--grid", "batch_size=2000"], "batch_size must be between 1 and 1024"),
    ([], "a sweep needs --grid"),
    (["--resume", "nosuchsweep"], "no sweep named 'nosuchsweep'"),
])
def test_bad_input_exits_2_with_one_line_naming_it(tmp_path, args, message):
    r = sweep_cli(tmp_path, *args, "--num-epochs", "1")
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in r.stderr


def test_asha_stops_a_trial_clearly_behind_at_a_rung():
    asha = Asha(max_t=9, grace=1, eta=3)
    assert asha.rungs == [1, 3]
    assert asha.report("a", 1, 5.0) and asha.report("b", 1, 4.0)
    assert not asha.report("c", 1, 9.0)        # worse than the best third at epoch 1
    assert asha.report("d", 1, 3.0)


def test_a_local_grid_ends_with_one_line_per_trial_and_the_best(tmp_path):
    r = sweep_cli(tmp_path, "--grid", "lr=0.5,2", "--grid", "seed=0,1", "--num-epochs", "2",
                  *TINY, "--json", "--name", "g")
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    trials, final = out[:-1], out[-1]
    assert sorted(t["trial"] for t in trials) == [0, 1, 2, 3]
    assert all(set(t) >= {"trial", "run_id", "config", "status", "perplexity",
                          "val_perplexity", "epochs"} for t in trials)
    assert {tuple(sorted(t["config"].items())) for t in trials} == {
        (("lr", lr), ("seed", s)) for lr in (0.5, 2.0) for s in (0, 1)}
    assert final["final"] is True and final["trials"] == 4 and final["finished"] == 4
    assert final["stopped_early"] == 0 and final["failed"] == 0 and final["seconds"] > 0
    best = min(trials, key=lambda t: t["val_perplexity"])
    assert final["best"] == best
    # every trial is a run in the store, with its validation curve and weights
    run = Run.load(tmp_path / best["run_id"])
    assert run.status == "finished" and run.name == label_of(best)
    assert run.log.epoch_columns()["val_perplexity"][-1] == pytest.approx(best["val_perplexity"])
    assert (tmp_path / best["run_id"] / "weights.pt").exists()


def label_of(line):
    return " ".join(f"{k}={v:g}" for k, v in line["config"].items())


def test_without_json_a_progress_bar_and_a_summary(tmp_path):
    r = sweep_cli(tmp_path, "--grid", "lr=1,2", "--num-epochs", "1", *TINY, "--name", "p")
    assert r.returncode == 0, r.stderr
    assert "2/2 trials" in r.stderr and "best validation perplexity" in r.stderr
    assert "2 finished" in r.stdout and "best: trial" in r.stdout


def test_a_killed_trial_fails_with_its_reason_and_the_others_finish(tmp_path):
    """The worker process of the long trial is killed; the sweep goes on."""
    p = start_sweep(tmp_path, "--grid", "num_epochs=2,2000", *TINY, "--json", "--name", "k",
                    "--max-concurrent", "2")
    rec = wait_record(tmp_path, "k", lambda r: r["trials"][1]["pid"] is not None)
    os.kill(rec["trials"][1]["pid"], signal.SIGKILL)
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0, err
    by_trial = {t["trial"]: t for t in lines(out)[:-1]}
    assert by_trial[0]["status"] == "finished"
    assert by_trial[1]["status"] == "failed" and "exit code -9" in by_trial[1]["message"]
    assert lines(out)[-1]["failed"] == 1


def test_a_resumed_sweep_runs_only_what_was_left(tmp_path):
    """The driver is interrupted after the first trial ended; --resume runs
    the rest and leaves the finished one as it was."""
    p = start_sweep(tmp_path, "--grid", "num_epochs=1,3000", *TINY, "--json", "--name", "r",
                    "--max-concurrent", "1")
    wait_record(tmp_path, "r", lambda r: r["trials"][0]["status"] == "finished"
                and r["trials"][1]["status"] == "running")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "--resume r" in err
    first = wait_record(tmp_path, "r", lambda r: True)["trials"][0]
    # the long trial, made short so the test ends: its saved config says 2 epochs
    import json
    path = tmp_path / "sweeps" / "r.json"
    data = json.loads(path.read_text())
    data["trials"][1]["cfg"]["num_epochs"] = 2
    path.write_text(json.dumps(data))
    r = sweep_cli(tmp_path, "--resume", "r", "--json")
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    assert [t["trial"] for t in out[:-1]] == [1]            # only the unfinished one ran
    assert out[-1]["trials"] == 2 and out[-1]["finished"] == 2
    again = wait_record(tmp_path, "r", lambda r: True)["trials"][0]
    assert again["run_id"] == first["run_id"] and again == first
