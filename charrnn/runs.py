"""Runs: a config, a background training thread, controls, a log; and the
process-wide registry that every browser session shares.

The training thread never touches the UI: it consumes `Trainer.events()` and
writes into the run's `RunLog`. Controls (pause, resume, step, stop) are
events it checks between minibatches. Any exception in the thread becomes the
run's `failed` status with its message; the thread never dies silently.
"""
from __future__ import annotations

import os
import secrets
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path

import torch

from . import checkpoint, store
from .config import RunConfig
from .events import Checkpoint, Done, End, Failed, Ready, Start, Step, Weights
from .log import RunLog
from .model import make_model
from .threads import configure_threads
from .worker import ProcessControl, ThreadControl, drive, prewarm, start_worker
from .worker import mode as worker_mode

STOP_GRACE_S = 10.0   # a worker that has not stopped after this is killed

ACTIVE = ("queued", "running", "paused")
ENDED = ("finished", "stopped", "diverged", "failed", "interrupted")
RESUMABLE = ("stopped", "interrupted")   # with a checkpoint, these can go on


def default_name(cfg: RunConfig) -> str:
    clip = f"θ={cfg.theta:g}" if cfg.clipping else "no clip"
    part = "random" if cfg.random_iter else "seq"
    act = "" if cfg.activation == "tanh" else f" {cfg.activation}"
    return f"{cfg.model}{act} h{cfg.num_hiddens} lr={cfg.lr:g} {clip} {part}"


class WorkerFailed(RuntimeError):
    """The worker process reported an exception (its message is the run's)."""


class Run:
    def __init__(self, cfg: RunConfig, run_id: str, root: Path, on_end=None,
                 worker: str | None = None):
        self.config = cfg
        self.id = run_id
        self.name = cfg.name or default_name(cfg)
        self.folder = store.run_path(root, run_id)
        self.created = time.time()
        self.status = "queued"
        self.message = ""
        self.reason: dict | None = None  # {"key": i18n key, **fields}: the message, translatable
        self.info: dict = {}            # the trainer's Start event, as a dict (meta.json)
        self.log = RunLog()
        self.idx_to_token: list[str] = []
        self.total_steps = None         # estimated after the first epoch
        self.worker = worker            # "process" | "thread"; None: CHARRNN_WORKER at start
        self._trainer = None            # training in this process (worker "thread")
        self._weights = None            # latest weights the worker process sent
        self._model = None              # for a run loaded from disk
        self._thread = None
        self._proc = None               # the worker process, while it exists
        self._on_end = on_end
        self._ctl = ThreadControl()
        self._lock = threading.Lock()
        self._writer: checkpoint.Writer | None = None
        self._resume: dict | None = None    # the checkpoint a resumed run starts from
        self.checkpoint: dict | None = None  # checkpoint.summary of the last one written

    # ------------------------------------------------------------ controls
    def start(self):
        with self._lock:
            if self._thread is not None:
                return
            self.worker = self.worker or worker_mode()
            if self.worker == "process":  # controls become messages to the worker
                self._ctl = ProcessControl()
            self.status = "running"
            self._thread = threading.Thread(target=self._main, name=f"train-{self.id}",
                                            daemon=True)
            self._writer = checkpoint.Writer(self.folder, store.quick_write)
        self._save_meta()
        self._thread.start()

    def pause(self):
        with self._lock:
            if self.status == "running":
                self._ctl.pause()
                self.status = "paused"

    def resume(self):
        with self._lock:
            if self.status == "paused":
                self.status = "running"
                self._ctl.resume()

    def step(self):
        """Advance by one minibatch while paused. Under the lock: a Resume from
        another browser between the check and the step left a thread-mode
        run blocked after one step while it said "running"."""
        with self._lock:
            if self.status == "paused":
                self._ctl.step()

    def stop(self):
        with self._lock:
            if self.status == "queued":
                self._set_end("stopped", "stop.queued")
                self._end()
                return
        self._ctl.stop()

    @property
    def controls_sent(self) -> int:
        """How many pauses, resumes and steps its worker has been given: a
        checkpoint taken blocked, having read as many, is its answer to the
        last of them (checkpoint.summary)."""
        return self._ctl.sent

    @property
    def checkpoint_error(self) -> str | None:
        """Why the last checkpoint could not be written (a full disk), if so."""
        w = self._writer
        return None if w is None or w.error is None else str(w.error)

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE and self.checkpoint is not None

    def prepare_resume(self) -> bool:
        """Queue this stopped or interrupted run to go on from its last
        checkpoint (the registry starts it). False when it cannot."""
        with self._lock:
            if not self.resumable or (self._thread is not None and self._thread.is_alive()):
                return False
            resume = checkpoint.read_resume(self.folder)
            if resume is None:
                return False
            self.log.truncate(int(resume["step"]))
            self._resume = resume
            self._weights = resume["weights"]
            self._thread = self._proc = self._trainer = None
            self._ctl = ThreadControl()
            self.status, self.message, self.reason = "queued", "", None
        self._save_meta()
        return True

    def join(self, timeout=None):
        if self._thread is not None and self._thread.ident is not None:  # started at all
            self._thread.join(timeout)

    @property
    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def is_active(self):
        return self.status in ACTIVE

    # ------------------------------------------------------------ thread
    def _main(self):
        try:
            if self.worker == "process":
                finished = self._train_in_process()
            else:
                finished = self._train_here()
            if self.status in ("running", "paused"):  # no "end" event: stopped or done
                if finished:
                    self.status = "finished"
                else:
                    self._set_end("stopped", "stop.at_step", step=self.log.num_steps_logged)
        except WorkerFailed as exc:
            self.status, self.message = "failed", str(exc)
        except Exception as exc:  # the thread must never die silently
            self.status = "failed"
            self.message = f"{exc.__class__.__name__}: {exc}"
            self.traceback = traceback.format_exc()
            self.reason = getattr(exc, "i18n_reason", None)  # a UI can translate it
        finally:
            self._end()

    def _train_here(self) -> bool:
        configure_threads()
        from .train import Trainer
        self._trainer = trainer = Trainer(self.config, resume=self._resume)
        trainer.on_checkpoint = lambda r: self._apply(Checkpoint(r))
        self._apply(Ready(list(trainer.vocab.idx_to_token), list(trainer.model.param_names)))
        return drive(trainer, self._ctl, self._apply)

    def _train_in_process(self) -> bool:
        """Supervise a worker process: apply its events until it says Done."""
        w = start_worker(self.config, self._resume)
        self._proc = w.proc
        self._ctl.attach(w.conn)  # sends what was pressed while it was handed the run
        stop_asked = None
        try:
            while True:
                if w.conn.poll(0.2):
                    try:
                        msgs = w.conn.recv()
                    except (EOFError, OSError):
                        break
                    for ev in msgs:
                        if isinstance(ev, Done):
                            return ev.finished
                        if isinstance(ev, Failed):
                            self.traceback = ev.traceback
                            self.reason = ev.reason
                            raise WorkerFailed(ev.message)
                        self._apply(ev)
                elif not w.alive() and not w.conn.poll(0):
                    break
                if self._ctl.stopped:  # a worker stuck inside one step is ended
                    stop_asked = stop_asked or time.monotonic()
                    if time.monotonic() - stop_asked > STOP_GRACE_S:
                        w.kill()
                        return False
        finally:
            self._ctl.detach()
            try:
                w.proc.wait(5)
            except Exception:
                w.kill()
            w.close()
        if self._ctl.stopped:
            return False
        self._interrupted("stop.worker", code=w.proc.returncode)
        return False

    def _apply(self, ev):
        """One event of the trainer (or the worker) into the run's state and log."""
        match ev:
            case Step():
                self.log.add(ev)
                if ev.epoch == 2 and self.total_steps is None:
                    self.total_steps = (ev.step - 1) * self.config.num_epochs
            case Weights():
                self._weights = {k: torch.from_numpy(v) for k, v in ev.arrays.items()}
            case Checkpoint():
                self._checkpointed(ev.resume)
            case Ready():
                self.idx_to_token = list(ev.idx_to_token)
                if self._resume is None:   # a resumed run goes on with its log
                    self.log = RunLog(ev.param_names, self.config.num_steps)
            case Start():
                self.info = ev.to_dict()
                self._save_meta()
            case End():
                self.status, self.message, self.reason = ev.status, ev.message, ev.reason
            case _:   # the trainer's other records (and a new probe's): the log keeps them
                self.log.add(ev)

    def _checkpointed(self, r: dict | None):
        """The trainer's resume state: on disk with the log as it is now."""
        if r is None:   # no point to go on from exactly (a GPU's batched flush)
            return
        weights = {k: torch.as_tensor(v) for k, v in r["weights"].items()}
        self._weights = weights
        resume = {**r, "weights": weights, "at": time.time(),
                  "state": None if r["state"] is None else [torch.as_tensor(x) for x in r["state"]]}
        self.checkpoint = checkpoint.summary(resume)
        self._writer.submit(checkpoint.freeze(self.log), resume, self.meta())

    def _set_end(self, status, key, **fields):
        from .i18n import t
        self.reason = {"key": key, **fields}
        self.status, self.message = status, t(key, "en", **fields)

    def _interrupted(self, key, **fields):
        """The training ended without a word (its process died): the run is what
        its last checkpoint holds, and can go on from there."""
        if self._writer is not None:
            self._writer.close()   # the last checkpoint it was given is the run's
            self._writer = None
        resume = checkpoint.read_resume(self.folder)
        self._weights = None if resume is None else resume["weights"]
        self.checkpoint = None if resume is None else checkpoint.summary(resume)
        ck = self.checkpoint or {"step": 0, "epoch": 0, "at": time.time()}
        self.log.truncate(ck["step"])
        self._set_end("interrupted", key, step=ck["step"], epoch=ck["epoch"],
                      at=time.strftime("%H:%M:%S", time.localtime(ck["at"])), **fields)

    def _end(self):
        if self._writer is not None:
            self._writer.close()   # its last checkpoint on disk before the final files
            self._writer = None
        try:
            self.save()
        except Exception as exc:  # a full disk must not hide how the run ended
            self.message = (self.message + f" (could not save: {exc})").strip()
        if self._on_end:
            self._on_end(self)

    # ------------------------------------------------------------ data
    def _state_dict(self):
        """The newest weights there are: the trainer's here, the worker's last
        message (at most WEIGHTS_EVERY old while it trains), or the loaded ones."""
        if self._trainer is not None:
            return self._trainer.model.state_dict()
        if self._weights is not None:
            return self._weights
        return self._model.state_dict() if self._model is not None else None

    def model(self):
        """A model with a copy of the current weights (safe while training)."""
        sd = self._state_dict()
        if sd is None:
            return None
        cfg = self.config
        m = make_model(cfg.model, len(self.idx_to_token), cfg.num_hiddens, "cpu", cfg.activation)
        m.load_state_dict({k: v.detach().cpu().clone() for k, v in sd.items()})
        return m

    def vocab(self):
        from .data import Vocab
        v = Vocab()
        v.idx_to_token = list(self.idx_to_token)
        v.token_to_idx = {t: i for i, t in enumerate(v.idx_to_token)}
        return v

    def progress(self) -> dict:
        """Numbers for the status line: step, epoch, tokens/s, ETA."""
        last = self.log.last_step() or {}
        ep = self.log.epochs.last() or {}
        step = int(last.get("step", 0))
        speed = ep.get("tokens_per_s") or last.get("tokens_per_s") or 0.0
        eta = None
        if self.total_steps and step and ep.get("step") and ep.get("time"):
            # wall-clock seconds per step so far (pauses excluded): an honest ETA
            eta = max(0.0, (self.total_steps - step) * ep["time"] / ep["step"])
        return {"step": step, "epoch": int(last.get("epoch", 0)),
                "num_epochs": self.config.num_epochs, "tokens_per_s": speed,
                "total_steps": self.total_steps, "eta_s": eta,
                "perplexity": ep.get("perplexity"), "val_perplexity": ep.get("val_perplexity")}

    # ------------------------------------------------------------ disk
    def meta(self) -> dict:
        return {"id": self.id, "name": self.name, "created": self.created,
                "status": self.status, "message": self.message, "reason": self.reason,
                "info": self.info, "checkpoint": self.checkpoint,
                "idx_to_token": self.idx_to_token, "total_steps": self.total_steps}

    def _save_meta(self):
        store.write_json(self.folder / "config.json", self.config.to_dict())
        store.write_json(self.folder / "meta.json", self.meta())

    def save(self):
        self._save_meta()
        store.save_log(self.folder, self.log)
        if self._trainer is not None or self._weights is not None:
            store.save_weights(self.folder / "weights.pt", self._state_dict())
        self._save_meta()   # last: a run read back is what its meta says

    @classmethod
    def load(cls, folder: Path) -> "Run":
        meta = store.read_json(folder / "meta.json")
        try:
            cfg = RunConfig.from_dict(store.read_json(folder / "config.json"))
        except ValueError as exc:
            raise store.StoreError.of("store.bad_config", run=folder.name, error=str(exc)) from None
        run = cls(cfg, folder.name, folder.parent)
        run.name = str(meta.get("name") or run.name)[:80]
        try:  # a foreign meta.json must not break sorting every page does
            run.created = float(meta.get("created", run.created))
        except (TypeError, ValueError):
            run.created = (folder / "meta.json").stat().st_mtime
        run.status, run.message = meta.get("status", "stopped"), str(meta.get("message", ""))
        if run.status not in ACTIVE + ENDED:  # a foreign meta.json
            run.status = "stopped"
        run.info = meta.get("info", {})
        run.reason = meta.get("reason")
        run.total_steps = meta.get("total_steps")
        run.idx_to_token = list(meta.get("idx_to_token", []))
        run.log = store.load_log(folder, run.info.get("param_names", []), cfg.num_steps,
                                 run.idx_to_token)
        run._thread = threading.Thread()  # not startable until prepare_resume
        resume = checkpoint.read_resume(folder)
        if resume is not None:
            run.checkpoint = checkpoint.summary(resume)
        if run.status in ACTIVE:  # the server stopped while it trained
            run._interrupted("stop.server")
        sd = run._weights
        run._weights = None
        if sd is None and (folder / "weights.pt").exists():
            sd = store.load_weights(folder / "weights.pt")
        if sd is not None and run.idx_to_token:
            m = make_model(cfg.model, len(run.idx_to_token), cfg.num_hiddens, "cpu",
                           cfg.activation)
            try:
                m.load_state_dict(sd)
            except (KeyError, RuntimeError) as exc:
                raise store.StoreError.of("store.run_weights_misfit", run=folder.name,
                                          error=exc.__class__.__name__) from None
            run._model = m
        return run


class Registry:
    """All runs of this server process; at most `max_active` train at once."""

    def __init__(self, root: Path | None = None, max_active: int | None = None,
                 worker: str | None = None, load: bool = True):
        self.root = Path(root) if root else store.runs_dir()
        self.max_active = max_active or int(os.environ.get("CHARRNN_MAX_ACTIVE", 1))
        self.worker = worker  # None: each run reads CHARRNN_WORKER when it starts
        if (worker or worker_mode()) == "process":
            prewarm()
        self._runs: dict[str, Run] = {}
        self._lock = threading.RLock()
        self.problems: list[str] = []       # run folders that could not be read
        self.unreadable: dict[str, dict] = {}  # their names -> {"message", "reason"}
        if load:   # a sweep's driver only adds runs: it need not read the others
            self._load_all()

    def _load_all(self):
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or not store.RUN_ID.match(folder.name):
                continue
            if not (folder / "meta.json").exists():
                continue
            try:
                run = Run.load(folder)
            except Exception as exc:
                self.problems.append(f"{folder.name}: {exc}")
                self.unreadable[folder.name] = {"message": str(exc),
                                                "reason": getattr(exc, "i18n_reason", None)}
                continue
            self._runs[run.id] = run

    def create(self, cfg: RunConfig, start=True) -> Run:
        cfg.validate()
        run_id = datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        run = Run(cfg, run_id, self.root, on_end=self._on_end, worker=self.worker)
        with self._lock:
            self._runs[run.id] = run
        if start:
            self._schedule()
        return run

    def add(self, run: Run) -> Run:
        """A run trained elsewhere (a sweep's trial): listed, never started here."""
        with self._lock:
            self._runs[run.id] = run
        return run

    def start_together(self, runs, cores: int | None = None) -> bool:
        """Start `runs` at once, beside the queue's limit (a lecture's
        side-by-side pair, one core each): True when the machine has a core
        for each, else they queue as usual and False says why not."""
        from .threads import machine_cores
        if (cores or machine_cores()) < len(runs):
            self._schedule()
            return False
        for run in runs:
            run.start()
        return True

    def _on_end(self, run):
        self._schedule()

    def _schedule(self):
        with self._lock:
            active = [r for r in self._runs.values() if r.status in ("running", "paused")]
            queued = sorted((r for r in self._runs.values()
                             if r.status == "queued" and r._thread is None),
                            key=lambda r: r.created)
            for run in queued[: max(0, self.max_active - len(active))]:
                run.start()

    def resume(self, run_id) -> Run | None:
        """A stopped or interrupted run goes on from its last checkpoint."""
        run = self._runs.get(run_id)
        if run is None or not run.prepare_resume():
            return None
        run._on_end = self._on_end
        run.worker = self.worker
        self._schedule()
        return run

    def restart(self, run_id) -> Run | None:
        """A new run with the settings of `run_id`, from the start."""
        run = self._runs.get(run_id)
        if run is None:
            return None
        cfg = RunConfig.from_dict(run.config.to_dict())
        return self.create(cfg)

    def get(self, run_id) -> Run | None:
        return self._runs.get(run_id)

    def list(self) -> list[Run]:
        """Newest first."""
        return sorted(self._runs.values(), key=lambda r: r.created, reverse=True)

    def delete(self, run_id):
        run = self._runs.get(run_id)
        if run is None:
            return
        run.stop()
        run.join(5)
        with self._lock:
            self._runs.pop(run_id, None)
        store.delete_run(self.root, run_id)

    def delete_unreadable(self, name: str):
        """Remove a run folder that could not be read (its name as listed)."""
        with self._lock:
            if self.unreadable.pop(name, None) is None:
                return
            self.problems = [p for p in self.problems if not p.startswith(f"{name}: ")]
        store.delete_run(self.root, name)

    def stop_all(self):
        for run in list(self._runs.values()):
            run.stop()
        for run in list(self._runs.values()):
            run.join(5)
