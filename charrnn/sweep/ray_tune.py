"""Trials on a Ray cluster through Ray Tune: Ray places and runs them (each
asks for the cores, or the GPU, it trains on) and its ASHAScheduler stops
trials that are behind. A trial's events travel back with its epoch reports;
a callback on this machine, the driver's, writes them into the run store,
and the final report carries the trained weights. So Compare opens a Ray
trial as it opens one trained here."""
from __future__ import annotations

import base64
import io
import os
import pickle
import threading

from ..events import End, Epoch, Ready, Sample, Spectral, Start, Step
from ..runs import Run
from .asha import REDUCTION, grace_period

INSTALL = "Ray is not installed: pip install -r requirements-ray.txt"
_SENT = (Start, Step, Epoch, Spectral, Sample, End)   # snapshots stay on the worker


class RayUnreachable(RuntimeError):
    """The cluster cannot be reached; one sentence for the user."""


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        return False
    return True


def _pack(obj) -> str:
    return base64.b64encode(pickle.dumps(obj, protocol=4)).decode("ascii")


def _unpack(text: str):
    return pickle.loads(base64.b64decode(text))


def trainable(config, cfgs=None):
    """Runs on a Ray worker: train one trial, report after every epoch."""
    from ray import tune

    from ..config import RunConfig
    from ..threads import configure_threads
    from ..train import Trainer
    configure_threads(config["threads"], headless=True)
    cfg = RunConfig.from_dict(cfgs[config["trial"]])
    trainer = Trainer(cfg)
    batch = [Ready(list(trainer.vocab.idx_to_token), list(trainer.model.param_names))]
    epoch, val = 0, float("nan")
    for ev in trainer.events():
        if isinstance(ev, _SENT):
            batch.append(ev)
        if isinstance(ev, Epoch):
            epoch = ev.epoch
            val = ev.val_perplexity if ev.val_perplexity == ev.val_perplexity else ev.perplexity
            extra = {"weights": _weights(trainer)} if epoch == cfg.num_epochs else {}
            # the last epoch's report carries the weights: at max_t Tune ends the trial
            tune.report({"epoch": epoch, "objective": val, "pid": os.getpid(),
                         "events": _pack(batch), **extra})
            batch = []
    if batch:   # a run that diverged within an epoch: its End, and its weights
        tune.report({"epoch": epoch, "objective": val, "pid": os.getpid(),
                     "events": _pack(batch), "weights": _weights(trainer)})


def _weights(trainer) -> str:
    import torch
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}, buf)
    return _pack(buf.getvalue())


def _callback_class():
    from ray.tune import Callback

    class ToStore(Callback):
        """On the driver: each report's events into the trial's run, saved."""

        def __init__(self, driver, rows, runs):
            self.driver, self.rows = driver, {r["trial"]: r for r in rows}
            self.runs: dict[int, Run] = runs

        def __getstate__(self):   # Tune saves its state; the callback lives here only
            return {}

        def _run(self, trial) -> tuple[dict, Run]:
            idx = trial.config["trial"]
            run = self.runs[idx]
            if run.status == "queued":
                run.status = "running"
            return self.rows[idx], run

        def on_trial_result(self, iteration, trials, trial, result, **info):
            row, run = self._run(trial)
            if row.get("pid") is None:
                self.driver.record.update(row, pid=result.get("pid"))
            for ev in _unpack(result["events"]):
                run._apply(ev)
            if "weights" in result:
                from .. import store
                store._atomic_write(run.folder / "weights.pt", _unpack(result["weights"]))
            run.save()

        def on_trial_complete(self, iteration, trials, trial, **info):
            row, run = self._run(trial)
            e = run.log.epochs.last() or {}
            if run.status == "running":   # no End event: Ray's scheduler stopped it
                done = int(e.get("epoch", 0)) >= run.config.num_epochs
                run.status = "finished" if done else "stopped"
                status = "finished" if done else "stopped_early"
            else:
                status = run.status
            run.save()
            self.driver.ended(row, status, run)

        def on_trial_error(self, iteration, trials, trial, **info):
            row, run = self._run(trial)
            error = getattr(trial, "error_file", None)
            reason = "the trial's worker died"
            try:
                if error and os.path.exists(error):
                    with open(error, encoding="utf-8", errors="replace") as f:
                        lines = [x for x in f.read().splitlines() if x.strip()]
                    reason = lines[-1].split(". ")[0][:300] if lines else reason
            except OSError:
                pass
            run.status, run.message = "failed", f"failed on the Ray cluster: {reason}"
            run.save()
            self.driver.ended(row, "failed", run, run.message)
    return ToStore


def _stopper_class():
    from ray.tune import Stopper

    class StopAsked(Stopper):
        """Ends the whole sweep once its driver is asked to stop (the app's button)."""

        def __init__(self, event):
            self.event = event

        def __getstate__(self):
            return {}

        def __call__(self, trial_id, result):
            return False

        def stop_all(self):
            return self.event is not None and self.event.is_set()
    return StopAsked


def run_ray(driver, rows, address: str, threads: int, scheduler: str,
            max_concurrent: int | None, gpus: float = 0, registry=None):
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")   # no CSV/TB files
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if not ray.is_initialized():
        try:
            # the package travels to every node (no install there); so does the
            # folder the book is read from, when one is set
            import charrnn
            env = {k: v for k, v in os.environ.items() if k == "CHARRNN_DATA_DIR"}
            ray.init(address=address, log_to_driver=False, logging_level="ERROR",
                     runtime_env={"py_modules": [charrnn], "env_vars": env})
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnreachable(f"no Ray cluster at {address!r} "
                                 f"({str(exc).splitlines()[0][:200]})") from None
    rec = driver.record
    from ..runs import Registry
    ids = Registry(rec.root, load=False)   # run ids as the local executor makes them
    runs = {}
    for row in rows:
        run = Run(rec.config(row), ids.create(rec.config(row), start=False).id, rec.root)
        run._thread = threading.Thread()   # trained on the cluster, never started here
        run.save()
        runs[row["trial"]] = run
        if registry is not None:
            registry.add(run)
        driver.started(row, run.id)
    max_t = max(rec.config(r).num_epochs for r in rows)
    sched = None
    if scheduler == "asha":
        sched = ASHAScheduler(time_attr="epoch", max_t=max_t, grace_period=grace_period(max_t),
                              reduction_factor=REDUCTION)
    resources = {"cpu": threads, "gpu": gpus}
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(
            trainable, cfgs={r["trial"]: r["cfg"] for r in rows}), resources),
        param_space={"trial": tune.grid_search([r["trial"] for r in rows]),
                     "threads": threads},
        tune_config=tune.TuneConfig(metric="objective", mode="min", scheduler=sched,
                                    max_concurrent_trials=max_concurrent or 0),
        run_config=tune.RunConfig(name=f"charrnn-{rec.name}", verbose=0,
                                  storage_path=str((rec.root / "sweeps" / "ray").resolve()),
                                  callbacks=[_callback_class()(driver, rows, runs)],
                                  stop=_stopper_class()(driver.stop_event),
                                  failure_config=tune.FailureConfig(max_failures=0)))
    tuner.fit()
