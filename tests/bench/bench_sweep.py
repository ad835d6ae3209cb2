"""The same 8-trial sweep through the local executor and through a local Ray
cluster (started here, 2 CPUs, dashboard off), alternated: wall time of each
sweep and Ray's overhead per trial. Run from the repository root:

    python tests/bench/bench_sweep.py [--reps 2] [--quick]

A trial is small (h32, 2,000 tokens, batch 8, 10 steps) so that what Ray adds
(scheduling, a worker per trial, reports through the driver) is visible
beside the training. Both executors run 2 trials at once on 1 core each."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRIAL = ["--num-hiddens", "32", "--max-tokens", "2000", "--batch-size", "8", "--num-steps",
         "10", "--grid", "lr=0.5,1,2,4", "--grid", "seed=0,1", "--threads", "1",
         "--max-concurrent", "2", "--json"]


def book_env() -> dict:
    env = dict(os.environ)
    shared = ROOT.parent / "shared" / "data"
    if "CHARRNN_DATA_DIR" not in env and (shared / "timemachine.txt").exists():
        env["CHARRNN_DATA_DIR"] = str(shared)
    return env


def one_sweep(executor_args, epochs) -> tuple[float, dict]:
    runs = tempfile.mkdtemp(prefix="bench-sweep-")
    env = {**book_env(), "CHARRNN_RUNS_DIR": runs}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "charrnn", "sweep", *TRIAL, "--num-epochs",
                        str(epochs), *executor_args], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=1800)
    wall = time.perf_counter() - t0
    shutil.rmtree(runs, ignore_errors=True)
    if r.returncode != 0:
        raise SystemExit(f"sweep failed: {r.stderr[-1000:]}")
    final = json.loads(r.stdout.splitlines()[-1])
    return wall, final


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="1 repetition of 3 epochs")
    a = ap.parse_args()
    reps, epochs = (1, 3) if a.quick else (a.reps, a.epochs)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray = shutil.which("ray")
    subprocess.run([ray, "start", "--head", "--port", str(port), "--node-ip-address",
                    "127.0.0.1", "--num-cpus", "2", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True, env=book_env())
    variants = {"local": [], "ray": [f"--executor", "ray", "--ray-address", f"127.0.0.1:{port}"]}
    times = {k: [] for k in variants}
    try:
        for rep in range(reps):
            order = list(variants) if rep % 2 == 0 else list(variants)[::-1]
            for name in order:
                args = [] if name == "local" else variants[name]
                wall, final = one_sweep(args, epochs)
                times[name].append(wall)
                print(f"rep {rep} {name:5s} {wall:6.1f} s  finished {final['finished']}/8  "
                      f"best val ppl {final['best']['val_perplexity']:.3f}", flush=True)
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True)
    loc, ry = statistics.median(times["local"]), statistics.median(times["ray"])
    print(json.dumps({"epochs": epochs, "reps": reps, "local_s": times["local"],
                      "ray_s": times["ray"], "median_local_s": loc, "median_ray_s": ry,
                      "ray_overhead_per_trial_s": (ry - loc) / 8}))


if __name__ == "__main__":
    main()
