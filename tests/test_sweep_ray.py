"""Sweeps on a real Ray cluster: started here on 127.0.0.1 (dashboard off),
stopped at the end even when a test fails."""
import os
import shutil
import signal
import socket
import subprocess

import pytest

from charrnn.runs import Run
from tests.sweep_helpers import TINY, lines, start_sweep, sweep_cli, wait_record

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -r requirements-ray.txt")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ray_bin = shutil.which("ray")
    assert ray_bin, "the ray command is missing"
    port = _free_port()
    stop = [ray_bin, "stop", "--force"]
    try:
        subprocess.run([ray_bin, "start", "--head", "--port", str(port),
                        "--node-ip-address", "127.0.0.1", "--num-cpus", "2",
                        "--include-dashboard=false", "--disable-usage-stats"],
                       check=True, capture_output=True, timeout=180)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(stop, capture_output=True, timeout=120)


def ray_args(address):
    return ["--executor", "ray", "--ray-address", address, "--json"]


def test_a_4_trial_grid_with_asha_lands_in_the_store(cluster, tmp_path):
    r = sweep_cli(tmp_path, "--grid", "lr=0.5,2", "--grid", "theta=1,none", "--num-epochs", "9",
                  *TINY, "--scheduler", "asha", "--name", "a", *ray_args(cluster))
    assert r.returncode == 0, r.stderr[-2000:]
    out = lines(r.stdout)
    trials, final = out[:-1], out[-1]
    assert sorted(t["trial"] for t in trials) == [0, 1, 2, 3]
    assert final["trials"] == 4 and final["finished"] + final["stopped_early"] == 4
    assert final["best"]["status"] == "finished" and final["best"]["epochs"] == 9
    for t in trials:   # every trial is a run on this machine, its metrics with it
        run = Run.load(tmp_path / t["run_id"])
        assert run.status == ("finished" if t["status"] == "finished" else "stopped")
        e = run.log.epoch_columns()
        assert len(e["epoch"]) == t["epochs"] >= 1
        assert e["val_perplexity"][-1] == pytest.approx(t["val_perplexity"])
        assert run.log.num_steps_logged > 0
    assert (tmp_path / final["best"]["run_id"] / "weights.pt").exists()


def test_a_trial_whose_worker_is_killed_fails_and_the_others_finish(cluster, tmp_path):
    p = start_sweep(tmp_path, "--grid", "num_epochs=2,3000", *TINY, "--name", "k",
                    *ray_args(cluster))
    try:
        rec = wait_record(tmp_path, "k", lambda r: r["trials"][1]["pid"] is not None)
        os.kill(rec["trials"][1]["pid"], signal.SIGKILL)
        out, err = p.communicate(timeout=240)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err[-2000:]
    by_trial = {t["trial"]: t for t in lines(out)[:-1]}
    assert by_trial[0]["status"] == "finished"
    assert by_trial[1]["status"] == "failed" and "Ray" in by_trial[1]["message"]
    assert lines(out)[-1]["failed"] == 1


def test_a_resumed_ray_sweep_skips_finished_trials(cluster, tmp_path):
    first = sweep_cli(tmp_path, "--grid", "lr=1,2", "--num-epochs", "2", *TINY, "--name", "r",
                      *ray_args(cluster))
    assert first.returncode == 0, first.stderr[-2000:]
    import json
    path = tmp_path / "sweeps" / "r.json"
    data = json.loads(path.read_text())
    kept = dict(data["trials"][0])
    data["trials"][1]["status"] = "running"      # as a driver stopped mid-trial leaves it
    path.write_text(json.dumps(data))
    r = sweep_cli(tmp_path, "--resume", "r", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    out = lines(r.stdout)
    assert [t["trial"] for t in out[:-1]] == [1] and out[-1]["finished"] == 2
    assert json.loads(path.read_text())["trials"][0] == kept
