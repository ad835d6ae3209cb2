"""`python -m charrnn sweep`: trials of a base config along axes.

--json: one line per ended trial, then a final line; without it a progress
bar. Exit 0 when the sweep ran to its end (diverged or failed trials are
results), 2 on bad input with one line naming it, 130 when interrupted
(resume with --resume NAME)."""
from __future__ import annotations

import json
import sys
import time

EXIT_BAD_INPUT, EXIT_INTERRUPTED = 2, 130


def add_sweep_parser(sub):
    from ..options import add_train_options
    s = sub.add_parser("sweep", help="a hyperparameter sweep; every trial a run in the store")
    add_train_options(s)
    s.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="a grid axis: every value with every other axis's (e.g. lr=0.5,1,2; "
                        "theta=1,none; seed=0,1,2)")
    s.add_argument("--random", action="append", default=[], metavar="NAME=DIST",
                   help="a random axis drawn per sample: loguniform:LOW:HIGH, "
                        "uniform:LOW:HIGH, randint:LOW:HIGH or V1,V2,... (a choice)")
    s.add_argument("--samples", type=int, default=1,
                   help="how many times the grid is run, each with fresh random draws")
    s.add_argument("--sample-seed", type=int, default=0, help="seed of the random draws")
    s.add_argument("--scheduler", choices=["none", "asha"], default="none",
                   help="asha: stop trials whose validation perplexity is clearly behind "
                        "at 1/9, 1/3 ... of the epochs (successive halving)")
    s.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local: this machine (default); ray: an existing Ray cluster "
                        "through Ray Tune (pip install -r requirements-ray.txt)")
    s.add_argument("--ray-address", default="auto",
                   help="the Ray cluster: auto (started here with `ray start --head`) "
                        "or HOST:PORT")
    s.add_argument("--max-concurrent", type=int, default=None,
                   help="trials at once (local default: the cores / --threads)")
    s.add_argument("--threads", type=int, default=1,
                   help="CPU cores each trial trains on (default 1)")
    s.add_argument("--gpus", type=float, default=0,
                   help="GPUs each Ray trial asks for (set --device cuda too)")
    s.add_argument("--name", default=None, help="the sweep's name (default sweep-DATE-TIME)")
    s.add_argument("--resume", default=None, metavar="NAME",
                   help="run what a stopped sweep left; finished trials are not rerun")
    s.add_argument("--json", action="store_true", help="one JSON object per ended trial")


def _bad(message) -> int:
    sys.stderr.write(f"charrnn: error: {message}\n")
    return EXIT_BAD_INPUT


def _bar(done, total, best, width=30):
    n = int(width * done / max(total, 1))
    tail = f"  best validation perplexity {best:.3f}" if best is not None else ""
    return f"\r[{'#' * n}{'.' * (width - n)}] {done}/{total} trials{tail}   "


def sweep(a) -> int:
    from .. import store
    from ..options import config_from_args
    from ..config import ConfigError
    from .driver import Driver, objective
    from .plan import plan
    from .record import SweepRecord

    root = store.runs_dir()
    if a.threads < 1 or (a.max_concurrent is not None and a.max_concurrent < 1):
        return _bad("--threads and --max-concurrent must be at least 1")
    if a.executor == "ray":
        from .ray_tune import INSTALL, ray_available
        if not ray_available():
            return _bad(INSTALL)
    if a.resume:
        try:
            rec = SweepRecord.load(root, a.resume)
        except (FileNotFoundError, store.StoreError) as exc:
            return _bad(str(exc))
        settings = rec.settings
    else:
        try:
            trials = plan(config_from_args(a), a.grid, a.random, a.samples, a.sample_seed)
        except ConfigError as exc:
            return _bad(str(exc))
        name = a.name or time.strftime("sweep-%Y%m%d-%H%M%S")
        if (root / "sweeps" / f"{name}.json").exists():
            return _bad(f"a sweep named {name!r} exists: --resume {name}, or another --name")
        settings = {"executor": a.executor, "scheduler": a.scheduler,
                    "ray_address": a.ray_address, "threads": a.threads,
                    "max_concurrent": a.max_concurrent, "gpus": a.gpus}
        try:
            rec = SweepRecord.new(root, name, settings, trials)
        except ValueError as exc:
            return _bad(str(exc))
    total = len(rec.trials)
    shown = {"done": total - len(rec.pending()), "best": None}
    # stdout carries our lines only: what Ray's log monitor prints goes to stderr
    out, sys.stdout = sys.stdout, sys.stderr

    def on_line(line):
        shown["done"] += 1
        if a.json:
            print(json.dumps(line, allow_nan=True), file=out, flush=True)
        else:
            v = objective(line)
            if v != float("inf") and (shown["best"] is None or v < shown["best"]):
                shown["best"] = v
            sys.stderr.write(_bar(shown["done"], total, shown["best"]))
            sys.stderr.flush()

    driver = Driver(rec, on_line)
    rows = rec.pending()
    if not a.json:
        sys.stderr.write(f"sweep {rec.name}: {total} trials ({len(rows)} to run) on "
                         f"{settings['executor']}\n" + _bar(shown["done"], total, None))
    try:
        run_rows(driver, rows, settings)
    except RuntimeError as exc:
        if exc.__class__.__name__ != "RayUnreachable":
            raise
        return _bad(str(exc))
    except KeyboardInterrupt:
        driver.stop_event.set()
        sys.stderr.write(f"\ncharrnn: interrupted; resume with --resume {rec.name}\n")
        return EXIT_INTERRUPTED
    finally:
        sys.stdout = out
    final = driver.final()
    if a.json:
        print(json.dumps(final, allow_nan=True), flush=True)
    else:
        sys.stderr.write("\n")
        best = final["best"]
        print(f"sweep {rec.name}: {final['finished']} finished, {final['stopped_early']} "
              f"stopped early, {final['diverged']} diverged, {final['failed']} failed, "
              f"{final['seconds']:.1f} s")
        if best:
            print(f"best: trial {best['trial']} {best['config']} validation perplexity "
                  f"{best['val_perplexity']} (run {best['run_id']})")
    return 0


def run_rows(driver, rows, settings, registry=None):
    """Run `rows` where the sweep's settings say (with the app's `registry`,
    its trials are its runs)."""
    if not rows:
        return
    if settings["executor"] == "ray":
        from .ray_tune import run_ray
        run_ray(driver, rows, settings["ray_address"], settings["threads"],
                settings["scheduler"], settings["max_concurrent"], settings.get("gpus", 0),
                registry=registry)
    else:
        from .local import default_concurrency, run_local
        run_local(driver, rows, settings["max_concurrent"]
                  or default_concurrency(settings["threads"]), settings["threads"],
                  settings["scheduler"], registry=registry)
