"""What runs achieved, without Streamlit: one row of results per run, the
memorisation rule, settings that changed nothing, mean and spread over seeds,
and the long table (one row per run and epoch) that Compare and Sweep export.
"""
from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pandas as pd

from .config import RunConfig
from .export import format_setting

# validation perplexity this many times the training perplexity: the model
# predicts its own text far better than text it has not seen
MEMORISE_RATIO = 1.5
# settings that are bookkeeping, never the reason two runs differ
_NOT_SETTINGS = ("name", "text", "init_weights", "probe_lanes", "snapshot_every",
                 "sample_every", "spectral_every", "num_preds", "prefix", "device")


def _finite(x) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def last_epoch(run) -> dict:
    """The run's last finished epoch (empty before the first)."""
    return run.log.epochs.last() or {}


def memorising(train_ppl, val_ppl) -> bool:
    """True when validation perplexity is far above training perplexity."""
    t, v = _finite(train_ppl), _finite(val_ppl)
    return t is not None and v is not None and v >= MEMORISE_RATIO * t


def run_summary(run) -> dict:
    """One row of results: final and best perplexity on the training text,
    validation perplexity (final and best), clip rate, tokens/s, seconds."""
    e, s = run.log.epoch_columns(), run.log.step_columns()
    ppl, val = e["perplexity"], e.get("val_perplexity", np.array([]))
    finite_val = val[np.isfinite(val)] if len(val) else val
    clipped = s["clipped"]
    return {
        "run_id": run.id, "name": run.name, "status": run.status,
        "epochs": int(e["epoch"][-1]) if len(e["epoch"]) else 0,
        "perplexity": _finite(ppl[-1]) if len(ppl) else None,
        "best_perplexity": _finite(np.nanmin(ppl)) if len(ppl) else None,
        "val_perplexity": _finite(val[-1]) if len(val) else None,
        "best_val_perplexity": _finite(finite_val.min()) if len(finite_val) else None,
        "clip_rate": float(np.mean(clipped > 0.5)) if len(clipped) else None,
        "tokens_per_s": _finite(e["tokens_per_s"][-1]) if len(ppl) else None,
        "seconds": _finite(e["time"][-1]) if len(ppl) else None,
    }


def results_table(runs, varied: list[str] | None = None) -> pd.DataFrame:
    """One row per run, the varied settings as columns, `best` marking the
    run with the lowest final validation perplexity."""
    varied = varied if varied is not None else varied_settings(runs)
    rows = []
    for r in runs:
        row = run_summary(r)
        row.update({k: format_setting(getattr(r.config, k)) for k in varied})
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    val = pd.to_numeric(df["val_perplexity"], errors="coerce")
    df.insert(0, "best", False)
    if val.notna().any():
        df.loc[val.idxmin(), "best"] = True
    return df


def varied_settings(runs) -> list[str]:
    """The settings whose values differ between the runs, in the table's order."""
    out = []
    for f in fields(RunConfig):
        if f.name in _NOT_SETTINGS:
            continue
        values = {format_setting(getattr(r.config, f.name)) for r in runs}
        if len(values) > 1:
            out.append(f.name)
    return out


def inert_settings(runs) -> list[dict]:
    """Settings that changed nothing: groups of runs that differ only in a
    setting whose effect never came into play. So far one such setting:
    theta, when no step's gradient norm ever exceeded the larger threshold
    (then clipping never happened, and "none" behaves the same)."""
    notes = []
    groups: dict[tuple, list] = {}
    for r in runs:
        key = tuple(format_setting(getattr(r.config, f.name)) for f in fields(RunConfig)
                    if f.name not in _NOT_SETTINGS and f.name != "theta")
        groups.setdefault(key, []).append(r)
    for group in groups.values():
        thetas = {r.config.theta for r in group}
        if len(group) < 2 or len(thetas) < 2:
            continue
        finite = [x for x in thetas if x is not None]
        lowest = min(finite) if finite else None
        peak = max(float(np.max(r.log.step_columns()["grad_norm"], initial=0.0)) for r in group)
        if lowest is not None and peak <= lowest:
            notes.append({"setting": "theta", "runs": [r.name for r in group],
                          "peak": peak, "theta": lowest})
    return notes


def over_seeds(table: pd.DataFrame, varied: list[str], metric="val_perplexity") -> pd.DataFrame:
    """Mean, standard deviation and count of `metric` over seeds, per
    combination of the other varied settings."""
    keys = [k for k in varied if k != "seed"]
    if "seed" not in varied or table.empty:
        return pd.DataFrame()
    values = pd.to_numeric(table[metric], errors="coerce")
    frame = table[keys].assign(**{metric: values}) if keys else pd.DataFrame({metric: values,
                                                                             "all": "all"})
    by = keys or ["all"]
    out = frame.groupby(by, sort=False)[metric].agg(["mean", "std", "count"]).reset_index()
    return out.rename(columns={"mean": f"{metric}_mean", "std": f"{metric}_std",
                               "count": "seeds"})


def long_frame(runs) -> pd.DataFrame:
    """One row per run and epoch: the run, its settings as columns, the
    epoch's training and validation perplexity, tokens/s and time."""
    frames = []
    for r in runs:
        e = r.log.epoch_columns()
        n = len(e["epoch"])
        cfg = r.config.to_dict()
        settings = {k: format_setting(v) for k, v in cfg.items()
                    if k not in ("text", "probe_lanes", "name")}
        frames.append(pd.DataFrame({
            "run_id": [r.id] * n, "run": [r.name] * n, "status": [r.status] * n,
            **{k: [v] * n for k, v in settings.items()},
            "epoch": e["epoch"].astype(np.int64),
            "perplexity": e["perplexity"].astype(np.float64),
            "val_perplexity": e.get("val_perplexity", np.full(n, np.nan)).astype(np.float64),
            "tokens_per_s": e["tokens_per_s"].astype(np.float64),
            "time": e["time"].astype(np.float64),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
