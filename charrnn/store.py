"""A run on disk: config, meta/status, metrics, snapshots, samples, weights.

Every file is written atomically (temporary file + rename), so a crash never
leaves a half-written run. Weights are a plain state_dict loaded with
`weights_only=True`: a foreign or corrupted file is refused, never unpickled.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import torch

from .events import Snapshot
from .log import Columns, RunLog
from .weights import StoreError, load_weights  # noqa: F401 - part of the store's interface

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def runs_dir() -> Path:
    return Path(os.environ.get("CHARRNN_RUNS_DIR", "runs")).expanduser()


def run_path(root: Path, run_id: str) -> Path:
    """The folder of a run; ids that could escape the runs folder are refused."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise StoreError(f"invalid run name {run_id!r}: letters, digits, - and _ only")
    return Path(root) / run_id


def _atomic_write(path: Path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj):
    _atomic_write(path, json.dumps(obj, indent=1, allow_nan=True).encode("utf-8"))


def read_json(path: Path):
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path.name} of run {path.parent.name} is unreadable ({exc})") from None


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def save_log(folder: Path, log: RunLog):
    with log.lock:
        steps, epochs = log.steps.to_array(), log.epochs.to_array()
        spectral, dH = log.spectral.to_array(), log.dH.to_array()
        snaps = list(log.history) + list(log.recent)
        samples = list(log.samples)
    _atomic_write(folder / "metrics.npz", _npz_bytes(
        steps=steps, step_names=np.array(log.steps.names), epochs=epochs,
        spectral=spectral, dH=dH))
    if snaps:
        cells = {} if snaps[0].C is None else {"C": np.stack([s.C for s in snaps])}
        _atomic_write(folder / "snapshots.npz", _npz_bytes(
            step=np.array([s.step for s in snaps]), epoch=np.array([s.epoch for s in snaps]),
            lanes=np.array([s.lanes for s in snaps]), H=np.stack([s.H for s in snaps]),
            H0=np.stack([s.H0 for s in snaps]), X=np.stack([s.input_ids for s in snaps]),
            Y=np.stack([s.target_ids for s in snaps]), dH=np.stack([s.dH for s in snaps]),
            **cells))
    write_json(folder / "samples.json", samples)


def load_log(folder: Path, param_names, num_steps, idx_to_token) -> RunLog:
    log = RunLog(param_names, num_steps)
    try:
        if (folder / "metrics.npz").exists():
            with np.load(folder / "metrics.npz", allow_pickle=False) as z:
                log.steps = Columns.from_array([str(n) for n in z["step_names"]], z["steps"])
                epochs = z["epochs"]
                if epochs.ndim == 2 and epochs.shape[1] < len(log.epochs.names):
                    # saved before validation perplexity was measured: NaN there
                    pad = np.full((len(epochs), len(log.epochs.names) - epochs.shape[1]), np.nan)
                    epochs = np.hstack([epochs, pad])
                log.epochs = Columns.from_array(log.epochs.names, epochs, np.float64)
                log.spectral = Columns.from_array(log.spectral.names, z["spectral"])
                log.dH = Columns.from_array(log.dH.names, z["dH"])
        if (folder / "snapshots.npz").exists():
            with np.load(folder / "snapshots.npz", allow_pickle=False) as npz:
                z = {k: npz[k] for k in npz.files}  # each npz[k] decompresses again
            for i in range(len(z["step"])):
                X, Y = z["X"][i], z["Y"][i]
                log.recent.append(Snapshot(
                    step=int(z["step"][i]), epoch=int(z["epoch"][i]),
                    lanes=[int(x) for x in z["lanes"][i]], H=z["H"][i], H0=z["H0"][i],
                    input_ids=X, target_ids=Y,
                    inputs=[[idx_to_token[j] for j in row] for row in X],
                    targets=[[idx_to_token[j] for j in row] for row in Y],
                    dH=z["dH"][i], C=z["C"][i] if "C" in z else None))
        if (folder / "samples.json").exists():
            log.samples = read_json(folder / "samples.json")
    except StoreError:
        raise
    except Exception as exc:  # a damaged file must not take the app down
        raise StoreError(f"the data of run {folder.name} is damaged ({exc})") from None
    return log


def save_weights(path: Path, state_dict: dict):
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
    _atomic_write(path, buf.getvalue())


def delete_run(root: Path, run_id: str):
    path = run_path(root, run_id)
    if path.is_dir():
        shutil.rmtree(path)
