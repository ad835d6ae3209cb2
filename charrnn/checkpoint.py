"""Checkpoints of a run while it trains: its log, samples, snapshots, weights
and the trainer's resume state, on disk at every epoch's end and every
CHECKPOINT_S within an epoch (charrnn/train.py says when).

Cheap enough to write several times a second: the log's tables are copied
under its lock (microseconds) and written by a thread of their own, the
latest checkpoint replacing one not yet written; each snapshot is a file
written once (snapshots/), not the whole set again. Every file is atomic, and
`checkpoint.npz` is written after the log's files: its step is the truth,
and whatever they hold beyond it is cut off when the run is read back
(meta.json follows it, so after a kill between the two its summary may be
one checkpoint behind).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .log import RunLog

CHECKPOINT_FILE = "checkpoint.npz"
SNAP_DIR = "snapshots"
SNAP_INDEX = "snapshots.json"
SMALL_FILE = 1 << 16      # files up to this size are compared before they are written


@dataclass
class Frozen:
    """A run's log as it was at one moment (arrays copied, snapshots shared:
    they never change once stored)."""
    steps: np.ndarray
    step_names: list
    epochs: np.ndarray
    spectral: np.ndarray
    dH: np.ndarray
    snapshots: list
    samples: list


def freeze(log: RunLog) -> Frozen:
    with log.lock:
        return Frozen(log.steps.to_array(), list(log.steps.names), log.epochs.to_array(),
                      log.spectral.to_array(), log.dH.to_array(),
                      list(log.history) + list(log.recent), list(log.samples))


def _write_snapshots(folder: Path, snaps, write, last_kept=None) -> list:
    """New snapshots each to a file of their own, the index of the kept ones,
    then the files the log has thinned out are removed. Returns the kept
    steps; nothing is touched when they equal `last_kept` (most epochs)."""
    kept = [s.step for s in snaps]
    if kept == last_kept:
        return kept
    d = folder / SNAP_DIR
    d.mkdir(parents=True, exist_ok=True)
    for s in snaps:
        path = d / f"{s.step:010d}.npz"
        if not path.exists():
            cells = {} if s.C is None else {"C": s.C}
            write(path, _npz(step=np.array(s.step), epoch=np.array(s.epoch),
                             lanes=np.array(s.lanes), H=s.H, H0=s.H0, X=s.input_ids,
                             Y=s.target_ids, dH=s.dH, **cells))
    write(folder / SNAP_INDEX, json.dumps(kept).encode())
    keep = {f"{k:010d}.npz" for k in kept}
    for path in d.glob("*.npz"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
    return kept


def _json(obj) -> bytes:
    """Compact: with an indent, Python's own JSON encoder runs instead of its
    C one, 2 ms of a checkpoint's 5."""
    return json.dumps(obj, allow_nan=True).encode("utf-8")


def _npz(**arrays) -> bytes:
    import io
    buf = io.BytesIO()
    np.savez(buf, **arrays)   # not compressed: written several times a second
    return buf.getvalue()


def write_log(folder: Path, f: Frozen, write, last_kept=None) -> list:
    """The log's files (the run folder's format, read by store.load_log);
    returns the kept snapshots' steps (see _write_snapshots)."""
    write(folder / "metrics.npz", _npz(steps=f.steps, step_names=np.array(f.step_names),
                                       epochs=f.epochs, spectral=f.spectral, dH=f.dH))
    kept = _write_snapshots(folder, f.snapshots, write, last_kept)
    write(folder / "samples.json", _json(f.samples))
    return kept


def write_resume(path: Path, resume: dict, write):
    """The resume state as one npz: tensors as arrays, the rest as JSON."""
    weights, state = resume["weights"], resume["state"] or []
    rest = {k: v for k, v in resume.items() if k not in ("weights", "state")}
    rest.update(names=list(weights), n_state=len(state), has_state=resume["state"] is not None)
    arrays = {f"w{i}": v.numpy() for i, v in enumerate(weights.values())}
    arrays.update({f"s{i}": x.numpy() for i, x in enumerate(state)})
    write(path, _npz(resume=np.array(json.dumps(rest)), **arrays))


def read_resume(folder: Path) -> dict | None:
    """The last checkpoint's resume state, None when there is none or it is
    unreadable (arrays and JSON only: nothing is unpickled)."""
    path = folder / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            r = json.loads(str(z["resume"]))
            r["weights"] = {name: torch.from_numpy(z[f"w{i}"].copy())
                            for i, name in enumerate(r.pop("names"))}
            n, has = r.pop("n_state"), r.pop("has_state")
            r["state"] = [torch.from_numpy(z[f"s{i}"].copy()) for i in range(n)] if has else None
        int(r["step"]), int(r["epoch"]), int(r["pos"])
    except Exception:
        return None
    return r


def summary(resume: dict) -> dict:
    """What a run's meta says about its last checkpoint (`blocked`: the
    trainer took it because it waits there, having read `controls` of the
    run's pause, resume and step)."""
    controls = resume.get("controls")
    return {"step": int(resume["step"]), "epoch": int(resume["epoch"]),
            "at": float(resume.get("at", time.time())), "blocked": bool(resume.get("blocked")),
            "controls": None if controls is None else int(controls)}


def _user_time() -> float:
    """This thread's user CPU time: the part of its writing that holds the
    GIL (file system calls release it: their time is the kernel's). Where a
    thread's own figures are not to be had, its CPU time."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_THREAD).ru_utime
    except (ImportError, AttributeError, OSError):
        return time.thread_time()


class Writer:
    """Writes a run's checkpoints on a thread of its own; a newer checkpoint
    replaces one still waiting (writing is never queued up behind training).
    A file whose bytes did not change since the last checkpoint (the samples
    between samplings, the snapshot index) is not written again: on disk every
    file replaced costs more than the bytes in it."""

    def __init__(self, folder: Path, write, on_written=None):
        self.folder, self._raw_write, self._on_written = folder, write, on_written
        self._small = {}          # path -> the bytes last written there (small files)
        self._kept = None         # the snapshot steps last written
        self._pending = None
        self._cv = threading.Condition()
        self._closed = False
        self.error: Exception | None = None
        self.cpu_s = 0.0          # CPU time spent writing (the cost of checkpoints)
        self.user_s = 0.0         # ... of it in Python and numpy, holding the GIL
        self.count = 0
        self._thread = threading.Thread(target=self._run, name=f"ckpt-{folder.name}",
                                        daemon=True)
        self._thread.start()

    def submit(self, frozen: Frozen, resume: dict, meta: dict):
        with self._cv:
            self._pending = (frozen, resume, meta)
            self._cv.notify()

    def _run(self):
        while True:
            with self._cv:
                while self._pending is None and not self._closed:
                    self._cv.wait()
                job, self._pending = self._pending, None
                if job is None:
                    return
            c0, u0 = time.thread_time(), _user_time()
            try:
                self.write_now(*job)
                self.error = None
            except Exception as exc:   # a full disk: the run goes on, the header says so
                self.error = exc
            self.cpu_s += time.thread_time() - c0
            self.user_s += _user_time() - u0
            self.count += 1

    def _write(self, path: Path, data: bytes):
        if self._small.get(path) == data:
            return
        self._raw_write(path, data)
        if len(data) <= SMALL_FILE:
            self._small[path] = data

    def write_now(self, frozen: Frozen, resume: dict, meta: dict):
        self._kept = write_log(self.folder, frozen, self._write, self._kept)
        write_resume(self.folder / CHECKPOINT_FILE, resume, self._write)
        self._write(self.folder / "meta.json", _json(meta))
        if self._on_written:
            self._on_written(resume)

    def close(self):
        """Write what is waiting, then stop."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join()
