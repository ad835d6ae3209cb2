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

from . import checkpoint
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


def _atomic_write(path: Path, data: bytes, sync: bool = True):
    """Temporary file + rename: a crash leaves the old file or the new one.
    `sync=False` (checkpoints, several a second) skips the fsync: a killed
    server loses nothing by it, only a power cut may."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def quick_write(path: Path, data: bytes):
    _atomic_write(path, data, sync=False)


def write_json(path: Path, obj):
    _atomic_write(path, json.dumps(obj, indent=1, allow_nan=True).encode("utf-8"))


def read_json(path: Path):
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError.of("store.unreadable", file=path.name, run=path.parent.name,
                            error=str(exc)) from None


def save_log(folder: Path, log: RunLog):
    checkpoint.write_log(folder, checkpoint.freeze(log), _atomic_write)


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
        z = _snapshot_arrays(folder)
        if z is not None:
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
        raise StoreError.of("store.damaged", run=folder.name, error=str(exc)) from None
    return log


def _snapshot_arrays(folder: Path) -> dict | None:
    """The kept snapshots as stacked arrays: one file each (snapshots/ and its
    index, written while the run trains) or one snapshots.npz (older runs)."""
    if (folder / checkpoint.SNAP_INDEX).exists():
        steps = read_json(folder / checkpoint.SNAP_INDEX)
        rows = []
        for step in steps:
            with np.load(folder / checkpoint.SNAP_DIR / f"{int(step):010d}.npz",
                         allow_pickle=False) as npz:
                rows.append({k: npz[k] for k in npz.files})
        if not rows:
            return None
        return {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    if (folder / "snapshots.npz").exists():
        with np.load(folder / "snapshots.npz", allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}  # each npz[k] decompresses again
    return None


def save_weights(path: Path, state_dict: dict):
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
    _atomic_write(path, buf.getvalue())


def delete_run(root: Path, run_id: str):
    path = run_path(root, run_id)
    if path.is_dir():
        shutil.rmtree(path)
