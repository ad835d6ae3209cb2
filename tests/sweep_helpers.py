"""Shared by the sweep tests: the CLI in a subprocess on a temporary run store."""
import json
import os
import subprocess
import sys
import time

TINY = ["--num-hiddens", "16", "--max-tokens", "2000", "--batch-size", "4", "--num-steps", "8"]


def sweep_cli(runs_dir, *args, timeout=300):
    env = {**os.environ, "CHARRNN_RUNS_DIR": str(runs_dir)}
    return subprocess.run([sys.executable, "-m", "charrnn", "sweep", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def start_sweep(runs_dir, *args):
    env = {**os.environ, "CHARRNN_RUNS_DIR": str(runs_dir)}
    return subprocess.Popen([sys.executable, "-m", "charrnn", "sweep", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines(stdout):
    return [json.loads(x) for x in stdout.splitlines() if x.strip()]


def record(runs_dir, name):
    path = runs_dir / "sweeps" / f"{name}.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def wait_record(runs_dir, name, pred, timeout=240):
    end = time.time() + timeout
    while time.time() < end:
        rec = record(runs_dir, name)
        if rec and pred(rec):
            return rec
        time.sleep(0.2)
    raise AssertionError(f"sweep {name} never reached the state waited for: {record(runs_dir, name)}")
